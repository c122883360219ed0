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

  name_prefix           = var.name_prefix
  bundle_dir            = abspath(pathexpand(startswith(var.bundle_dir, "/") ? var.bundle_dir : "${path.root}/${var.bundle_dir}"))
  create_cluster        = var.create_cluster
  release_label         = var.release_label
  subnet_id             = var.subnet_id
  core_instance_count   = var.core_instance_count
  idle_timeout_seconds  = var.idle_timeout_seconds
  pipeline_uri          = var.pipeline_uri
  sources               = var.sources
  deletion_request_uris = var.deletion_request_uris
  source_bucket_names   = var.source_bucket_names
  force_destroy         = var.force_destroy
}
