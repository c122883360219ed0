# Inputs of the root configuration: region, then every input of modules/lester under the same
# name. Defaults live in the module only: null here means "the module's default" (the module
# declares those inputs nullable = false). tests/terraform checks that each module input is
# exposed and passed through with the same type.

variable "region" {
  description = "AWS region to deploy to (no default: nothing here names a region)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every resource name (buckets get the account id and region appended)."
  type        = string
  default     = "lester"
}

variable "bundle_dir" {
  description = "Folder written by `spark-lester package` (relative to this folder or absolute)."
  type        = string
  default     = "../dist/spark_lester"
}

variable "code_prefix" {
  description = "Key prefix of the bundle in the code bucket."
  type        = string
  default     = null
}

variable "warehouse_prefix" {
  description = "Key prefix of the warehouse (Delta tables) in the artifacts bucket."
  type        = string
  default     = null
}

variable "code_bucket_name" {
  description = "Name of the code bucket (default: <name_prefix>-code-<account>-<region>)."
  type        = string
  default     = null
}

variable "artifacts_bucket_name" {
  description = "Name of the artifacts bucket (default: <name_prefix>-artifacts-<account>-<region>)."
  type        = string
  default     = null
}

variable "logs_bucket_name" {
  description = "Name of the logs bucket (default: <name_prefix>-logs-<account>-<region>)."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets."
  type        = bool
  default     = null
}

variable "log_retention_days" {
  description = "Days EMR logs are kept in the logs bucket."
  type        = number
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest (S3 SSE-KMS, EMR local disks and EBS, Glue logs and bookmarks); null: SSE-S3, no local-disk encryption."
  type        = string
  default     = null
}

variable "tls_certificates_uri" {
  description = "s3:// URI of a zip of PEM certificates for EMR encryption in transit (null: off; see README)."
  type        = string
  default     = null
}

variable "source_bucket_names" {
  description = "Buckets the pipelines read their sources from (read-only access)."
  type        = list(string)
  default     = null
}

variable "writable_source_bucket_names" {
  description = "Source buckets a deletion request may also clean (Delta sources; read-write access)."
  type        = list(string)
  default     = null
}

variable "create_cluster" {
  description = "Start the ephemeral EMR cluster (it runs the steps, then terminates)."
  type        = bool
  default     = null
}

variable "release_label" {
  description = "EMR release: emr-7.12.0 has the Spark (3.5.6) and Delta (3.3.2) the engine is tested with (spark_lester/aws/versions.py)."
  type        = string
  default     = null
}

variable "subnet_id" {
  description = "Subnet of the cluster (required with create_cluster; tag it for-use-with-amazon-emr-managed-policies=true)."
  type        = string
  default     = null
}

variable "master_security_group_id" {
  description = "EMR-managed security group of the primary node (default: EMR creates one)."
  type        = string
  default     = null
}

variable "core_security_group_id" {
  description = "EMR-managed security group of the core nodes (default: EMR creates one)."
  type        = string
  default     = null
}

variable "service_access_security_group_id" {
  description = "Service-access security group (private subnets only)."
  type        = string
  default     = null
}

variable "master_instance_type" {
  description = "Instance type of the primary node."
  type        = string
  default     = null
}

variable "core_instance_type" {
  description = "Instance type of the core nodes."
  type        = string
  default     = null
}

variable "core_instance_count" {
  description = "Number of core nodes."
  type        = number
  default     = null
}

variable "ebs_root_volume_size" {
  description = "Root volume of each node, in GiB (null: EMR's default; the embeddings bundle installs 6.4 GB of Python packages)."
  type        = number
  default     = null
}

variable "idle_timeout_seconds" {
  description = "Auto-termination: end the cluster after this long without work (60 s to 7 days)."
  type        = number
  default     = null
}

variable "pip_index_url" {
  description = "Package index the bootstrap action installs from (a mirror for clusters without internet access)."
  type        = string
  default     = null
}

variable "pipeline_uri" {
  description = "s3:// URI of a PIPELINE.py to run as the cluster's first step (null: no run step)."
  type        = string
  default     = null
}

variable "sources" {
  description = "Sources of the pipeline: name => s3:// URI."
  type        = map(string)
  default     = null
}

variable "deletion_request_uris" {
  description = "s3:// URIs of deletion requests (REQUEST.json) applied after the run, in order."
  type        = list(string)
  default     = null
}

variable "action_on_failure" {
  description = "What a failing step does to the ephemeral cluster."
  type        = string
  default     = null
}

variable "driver_memory" {
  description = "spark-submit --driver-memory of the steps."
  type        = string
  default     = null
}

variable "glue_jobs_enabled" {
  description = "Define the Glue jobs (run a pipeline, apply a deletion request)."
  type        = bool
  default     = null
}

variable "glue_version" {
  description = "Glue version: 5.1 has the Spark (3.5.6), Delta (3.3.2) and Python (3.11) the engine is tested with (spark_lester/aws/versions.py)."
  type        = string
  default     = null
}

variable "glue_worker_type" {
  description = "Glue worker type."
  type        = string
  default     = null
}

variable "glue_number_of_workers" {
  description = "Glue workers per job run."
  type        = number
  default     = null
}

variable "glue_timeout_minutes" {
  description = "Glue job timeout."
  type        = number
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = null
}
