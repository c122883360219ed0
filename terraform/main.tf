# Root configuration: the provider and one instance of the spark_lester module.
#
#   spark-lester package --out dist/spark_lester
#   terraform -chdir=terraform init
#   terraform -chdir=terraform apply -var region=REGION [-var create_cluster=true ...]

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project = "spark_lester"
    }
  }
}

module "lester" {
  source = "./modules/lester"

  name_prefix                      = var.name_prefix
  bundle_dir                       = abspath(pathexpand(startswith(var.bundle_dir, "/") ? var.bundle_dir : "${path.root}/${var.bundle_dir}"))
  code_prefix                      = var.code_prefix
  warehouse_prefix                 = var.warehouse_prefix
  code_bucket_name                 = var.code_bucket_name
  artifacts_bucket_name            = var.artifacts_bucket_name
  logs_bucket_name                 = var.logs_bucket_name
  force_destroy                    = var.force_destroy
  log_retention_days               = var.log_retention_days
  kms_key_arn                      = var.kms_key_arn
  tls_certificates_uri             = var.tls_certificates_uri
  source_bucket_names              = var.source_bucket_names
  writable_source_bucket_names     = var.writable_source_bucket_names
  create_cluster                   = var.create_cluster
  release_label                    = var.release_label
  subnet_id                        = var.subnet_id
  master_security_group_id         = var.master_security_group_id
  core_security_group_id           = var.core_security_group_id
  service_access_security_group_id = var.service_access_security_group_id
  master_instance_type             = var.master_instance_type
  core_instance_type               = var.core_instance_type
  core_instance_count              = var.core_instance_count
  ebs_root_volume_size             = var.ebs_root_volume_size
  idle_timeout_seconds             = var.idle_timeout_seconds
  pip_index_url                    = var.pip_index_url
  pipeline_uri                     = var.pipeline_uri
  sources                          = var.sources
  deletion_request_uris            = var.deletion_request_uris
  action_on_failure                = var.action_on_failure
  driver_memory                    = var.driver_memory
  glue_jobs_enabled                = var.glue_jobs_enabled
  glue_version                     = var.glue_version
  glue_worker_type                 = var.glue_worker_type
  glue_number_of_workers           = var.glue_number_of_workers
  glue_timeout_minutes             = var.glue_timeout_minutes
  tags                             = var.tags
}
