# The ephemeral cluster: EMR 7, the bootstrap action that installs the bundle on every node,
# the configuration classifications of emr/configurations.json, the steps (run the pipeline,
# then apply the deletion requests), and termination when the steps are done
# (keep_job_flow_alive_when_no_steps = false) or after an idle timeout.

resource "aws_emr_cluster" "this" {
  count = var.create_cluster ? 1 : 0

  name                              = "${var.name_prefix}-ephemeral"
  release_label                     = var.release_label
  applications                      = ["Hadoop", "Spark"]
  service_role                      = aws_iam_role.emr_service.arn
  log_uri                           = local.log_uri
  keep_job_flow_alive_when_no_steps = false
  termination_protection            = false
  step_concurrency_level            = 1
  ebs_root_volume_size              = var.ebs_root_volume_size
  security_configuration            = aws_emr_security_configuration.this.name
  configurations_json               = file("${var.bundle_dir}/emr/configurations.json")

  ec2_attributes {
    subnet_id                         = var.subnet_id
    instance_profile                  = aws_iam_instance_profile.emr_ec2.arn
    emr_managed_master_security_group = var.master_security_group_id
    emr_managed_slave_security_group  = var.core_security_group_id
    service_access_security_group     = var.service_access_security_group_id
  }

  master_instance_group {
    instance_type = var.master_instance_type
  }

  core_instance_group {
    instance_type  = var.core_instance_type
    instance_count = var.core_instance_count
  }

  bootstrap_action {
    name = "install spark_lester"
    path = local.bootstrap_uri
    args = compact([local.code_uri, var.pip_index_url])
  }

  auto_termination_policy {
    idle_timeout = var.idle_timeout_seconds
  }

  dynamic "step" {
    for_each = local.steps

    content {
      name              = "spark-lester ${step.value.command} ${step.key + 1}"
      action_on_failure = var.action_on_failure

      hadoop_jar_step {
        jar = "command-runner.jar"
        args = concat(
          [
            "spark-submit",
            "--deploy-mode", "client",
            "--master", "yarn",
            "--driver-memory", var.driver_memory,
            local.step_script_uri,
            "--result-uri", "${local.results_uri}/${step.key + 1}-${step.value.command}.json",
            step.value.command,
          ],
          step.value.args,
        )
      }
    }
  }

  tags = merge(local.tags, { "for-use-with-amazon-emr-managed-policies" = "true" })

  lifecycle {
    # Steps are submitted once, at creation; EMR reports them back in another form.
    ignore_changes = [step]

    precondition {
      condition     = var.subnet_id != null
      error_message = "create_cluster = true needs subnet_id."
    }
  }

  depends_on = [
    aws_s3_object.bundle,
    aws_s3_bucket_policy.this,
    aws_iam_role_policy.emr_ec2,
    aws_iam_role_policy.emr_service,
    aws_iam_role_policy_attachment.emr_service,
  ]
}
