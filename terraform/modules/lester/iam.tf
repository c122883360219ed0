# Least-privilege roles. The EMR service role gets AWS's scoped managed policy
# (AmazonEMRServicePolicy_v2, which acts only on resources tagged
# for-use-with-amazon-emr-managed-policies=true) and may pass only the instance role. The
# instance role (EMR nodes) and the Glue role get S3 access to the named buckets only: read the
# code bucket and the sources, read-write the artifacts (Delta needs delete for VACUUM), write
# the logs (EMR nodes push their logs). No S3 statement has a "*" resource.

locals {
  bucket_arns = { for k, b in aws_s3_bucket.this : k => b.arn }

  source_bucket_arns          = [for b in var.source_bucket_names : "arn:${local.partition}:s3:::${b}"]
  writable_source_bucket_arns = [for b in var.writable_source_bucket_names : "arn:${local.partition}:s3:::${b}"]

  listable_bucket_arns = concat(
    values(local.bucket_arns),
    local.source_bucket_arns,
    local.writable_source_bucket_arns,
  )
  # The whole code bucket: the bundle (code_prefix), the pipelines (pipelines/ in the README
  # and the Airflow example) and the inputs `emr submit` uploads. It is read-only for both roles.
  readable_object_arns = concat(
    ["${local.bucket_arns["code"]}/*"],
    [for arn in local.source_bucket_arns : "${arn}/*"],
  )
  writable_object_arns = concat(
    ["${local.bucket_arns["artifacts"]}/*"],
    [for arn in local.writable_source_bucket_arns : "${arn}/*"],
  )
}

# --- EMR service role -------------------------------------------------------------------------

data "aws_iam_policy_document" "emr_assume" {
  statement {
    sid     = "EmrAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:elasticmapreduce:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "emr_service" {
  name               = "${var.name_prefix}-emr-service"
  assume_role_policy = data.aws_iam_policy_document.emr_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "emr_service" {
  role       = aws_iam_role.emr_service.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
}

data "aws_iam_policy_document" "emr_service" {
  statement {
    sid       = "PassInstanceRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_ec2.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "emr_service" {
  name   = "pass-instance-role"
  role   = aws_iam_role.emr_service.id
  policy = data.aws_iam_policy_document.emr_service.json
}

# --- EC2 instance profile of the EMR nodes ----------------------------------------------------

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    sid     = "Ec2AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "emr_ec2" {
  name               = "${var.name_prefix}-emr-ec2"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
  tags               = local.tags
}

resource "aws_iam_instance_profile" "emr_ec2" {
  name = "${var.name_prefix}-emr-ec2"
  role = aws_iam_role.emr_ec2.name
  tags = local.tags
}

data "aws_iam_policy_document" "emr_ec2" {
  statement {
    sid       = "ListNamedBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = local.listable_bucket_arns
  }

  statement {
    sid       = "ReadCodeAndSources"
    actions   = ["s3:GetObject"]
    resources = local.readable_object_arns
  }

  statement {
    sid = "ReadWriteArtifacts"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = local.writable_object_arns
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arns["logs"]}/*"]
  }
}

resource "aws_iam_role_policy" "emr_ec2" {
  name   = "spark-lester-data"
  role   = aws_iam_role.emr_ec2.id
  policy = data.aws_iam_policy_document.emr_ec2.json
}

# --- Glue job role ----------------------------------------------------------------------------

data "aws_iam_policy_document" "glue_assume" {
  statement {
    sid     = "GlueAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "glue" {
  name               = "${var.name_prefix}-glue"
  assume_role_policy = data.aws_iam_policy_document.glue_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "glue" {
  statement {
    sid       = "ListNamedBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = local.listable_bucket_arns
  }

  statement {
    sid       = "ReadCodeAndSources"
    actions   = ["s3:GetObject"]
    resources = local.readable_object_arns
  }

  statement {
    sid = "ReadWriteArtifacts"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = local.writable_object_arns
  }

  statement {
    sid       = "JobLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/*"]
  }

  statement {
    sid       = "JobMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource-level permissions; limited to Glue's namespace.

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue"]
    }
  }
}

resource "aws_iam_role_policy" "glue" {
  name   = "spark-lester-data"
  role   = aws_iam_role.glue.id
  policy = data.aws_iam_policy_document.glue.json
}
