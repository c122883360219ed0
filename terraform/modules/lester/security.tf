# Security configurations of the EMR cluster and the Glue jobs: encryption at rest always
# (S3 objects with SSE-S3, or SSE-KMS with kms_key_arn; with kms_key_arn also the nodes' local
# disks and EBS volumes, Glue's CloudWatch logs and job bookmarks), encryption in transit on
# EMR when tls_certificates_uri names a zip of PEM certificates (EMR needs certificates from
# the user: none can be made here without another provider).

locals {
  emr_at_rest = merge(
    {
      S3EncryptionConfiguration = var.kms_key_arn == null ? { EncryptionMode = "SSE-S3" } : {
        EncryptionMode = "SSE-KMS"
        AwsKmsKey      = var.kms_key_arn
      }
    },
    var.kms_key_arn == null ? {} : {
      LocalDiskEncryptionConfiguration = {
        EncryptionKeyProviderType = "AwsKms"
        AwsKmsKey                 = var.kms_key_arn
        EnableEbsEncryption       = true
      }
    },
  )

  emr_encryption = merge(
    {
      EnableAtRestEncryption        = true
      EnableInTransitEncryption     = var.tls_certificates_uri != null
      AtRestEncryptionConfiguration = local.emr_at_rest
    },
    var.tls_certificates_uri == null ? {} : {
      InTransitEncryptionConfiguration = {
        TLSCertificateConfiguration = {
          CertificateProviderType = "PEM"
          S3Object                = var.tls_certificates_uri
        }
      }
    },
  )
}

resource "aws_emr_security_configuration" "this" {
  name          = "${var.name_prefix}-emr"
  configuration = jsonencode({ EncryptionConfiguration = local.emr_encryption })
}

resource "aws_glue_security_configuration" "this" {
  name = "${var.name_prefix}-glue"

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = var.kms_key_arn == null ? "DISABLED" : "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = var.kms_key_arn == null ? "DISABLED" : "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }

    s3_encryption {
      s3_encryption_mode = var.kms_key_arn == null ? "SSE-S3" : "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

# With a KMS key, the nodes and the Glue jobs use it (S3 objects, local disks, logs).
data "aws_iam_policy_document" "kms" {
  count = var.kms_key_arn == null ? 0 : 1

  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "kms" {
  for_each = var.kms_key_arn == null ? {} : { emr = aws_iam_role.emr_ec2.id, glue = aws_iam_role.glue.id }

  name   = "spark-lester-kms"
  role   = each.value
  policy = data.aws_iam_policy_document.kms[0].json
}
