# spark_lester on AWS: code, artifacts and logs buckets, least-privilege IAM roles for EMR and
# Glue, an optional ephemeral EMR cluster and the Glue job definitions. The bundle written by
# `spark-lester package` is uploaded to the code bucket; the cluster's bootstrap action
# installs it from there on every node.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  bucket_names = {
    code      = coalesce(var.code_bucket_name, "${var.name_prefix}-code-${local.account_id}-${local.region}")
    artifacts = coalesce(var.artifacts_bucket_name, "${var.name_prefix}-artifacts-${local.account_id}-${local.region}")
    logs      = coalesce(var.logs_bucket_name, "${var.name_prefix}-logs-${local.account_id}-${local.region}")
  }

  code_prefix     = trim(var.code_prefix, "/")
  code_uri        = "s3://${aws_s3_bucket.this["code"].id}/${local.code_prefix}"
  warehouse_uri   = "s3://${aws_s3_bucket.this["artifacts"].id}/${trim(var.warehouse_prefix, "/")}"
  results_uri     = "s3://${aws_s3_bucket.this["artifacts"].id}/step-results"
  log_uri         = "s3://${aws_s3_bucket.this["logs"].id}/emr/"
  bootstrap_uri   = "${local.code_uri}/emr/bootstrap/install_lester.sh"
  step_script_uri = "${local.code_uri}/emr/steps/lester_step.py"

  manifest     = jsondecode(file("${var.bundle_dir}/manifest.json"))
  bundle_files = fileset(var.bundle_dir, "**")

  # The steps of the ephemeral cluster: run the pipeline, then apply each deletion request.
  # Same command lines as emr/steps/run_pipeline.json and apply_deletion.json.
  steps = concat(
    [for pipeline in compact([var.pipeline_uri]) : {
      command = "run"
      args = concat(
        [pipeline],
        flatten([for name, uri in var.sources : ["--source", "${name}=${uri}"]]),
        ["--warehouse", local.warehouse_uri],
      )
    }],
    [for uri in var.deletion_request_uris : {
      command = "delete"
      args    = [uri, "--warehouse", local.warehouse_uri]
    }],
  )

  tags = merge(var.tags, { "spark_lester" = "true" })
}

resource "aws_s3_object" "bundle" {
  for_each = local.bundle_files

  bucket      = aws_s3_bucket.this["code"].id
  key         = "${local.code_prefix}/${each.value}"
  source      = "${var.bundle_dir}/${each.value}"
  source_hash = filemd5("${var.bundle_dir}/${each.value}")
  tags        = local.tags

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}
