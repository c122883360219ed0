# Glue 5.1 jobs that run the engine: run a pipeline, apply a deletion request. Their entry scripts
# live in glue_jobs/ of the checkout; `spark-lester package` copies them into the bundle, which
# is uploaded to the code bucket. The modules (wheel + pinned closure, installed --no-deps) and
# the Delta settings come from the bundle's manifest.json. One run at a time per job: Delta on
# S3 is written from one driver at a time. Per-run arguments (--pipeline, --sources, --request,
# --result-uri) are given to StartJobRun; spark_lester/aws/glue_jobs.py documents and checks them.

locals {
  glue_scripts = {
    run_pipeline   = "glue_jobs/run_pipeline.py"
    apply_deletion = "glue_jobs/apply_deletion.py"
  }

  glue_arguments = merge(
    { for k, v in local.manifest.glue.default_arguments : k => replace(v, "{code_uri}", local.code_uri) },
    {
      "--job-language"                     = "python"
      "--warehouse"                        = local.warehouse_uri
      "--TempDir"                          = "s3://${aws_s3_bucket.this["artifacts"].id}/glue-temp/"
      "--enable-continuous-cloudwatch-log" = "true"
      "--enable-metrics"                   = "true"
    },
  )
}

resource "aws_glue_job" "this" {
  for_each = { for k, v in local.glue_scripts : k => v if var.glue_jobs_enabled }

  name                   = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  role_arn               = aws_iam_role.glue.arn
  glue_version           = var.glue_version
  worker_type            = var.glue_worker_type
  number_of_workers      = var.glue_number_of_workers
  timeout                = var.glue_timeout_minutes
  security_configuration = aws_glue_security_configuration.this.name
  default_arguments      = local.glue_arguments
  tags                   = local.tags

  command {
    name            = "glueetl"
    script_location = "${local.code_uri}/${each.value}"
    python_version  = "3"
  }

  execution_property {
    max_concurrent_runs = 1
  }
}
