# Inputs of the spark_lester module. Only name_prefix and bundle_dir are required; nothing here
# names an account, a region or a secret (they come from the provider configuration).

variable "name_prefix" {
  description = "Prefix of every resource name (buckets get the account id and region appended)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.name_prefix))
    error_message = "name_prefix: 2-20 characters, lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "bundle_dir" {
  description = "Folder written by `spark-lester package` (wheel, requirements.txt, emr/, manifest.json); uploaded to the code bucket."
  type        = string
}

variable "code_prefix" {
  description = "Key prefix of the bundle in the code bucket."
  type        = string
  default     = "spark_lester"
  nullable    = false
}

variable "warehouse_prefix" {
  description = "Key prefix of the warehouse (Delta tables) in the artifacts bucket."
  type        = string
  default     = "warehouse"
  nullable    = false
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
  default     = false
  nullable    = false
}

variable "log_retention_days" {
  description = "Days EMR logs are kept in the logs bucket."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.log_retention_days >= 1
    error_message = "log_retention_days must be at least 1."
  }
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
  default     = []
  nullable    = false
}

variable "writable_source_bucket_names" {
  description = "Source buckets a deletion request may also clean (Delta sources; read-write access)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "create_cluster" {
  description = "Start the ephemeral EMR cluster (it runs the steps, then terminates)."
  type        = bool
  default     = false
  nullable    = false
}

variable "release_label" {
  description = "EMR release: emr-7.12.0 has the Spark (3.5.6) and Delta (3.3.2) the engine is tested with (spark_lester/aws/versions.py)."
  type        = string
  default     = "emr-7.12.0"
  nullable    = false

  validation {
    condition     = can(regex("^emr-7\\.[0-9]+\\.[0-9]+$", var.release_label))
    error_message = "release_label must be an EMR 7.x release, e.g. emr-7.12.0."
  }
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
  default     = "m5.xlarge"
  nullable    = false
}

variable "core_instance_type" {
  description = "Instance type of the core nodes."
  type        = string
  default     = "m5.xlarge"
  nullable    = false
}

variable "core_instance_count" {
  description = "Number of core nodes."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.core_instance_count >= 1
    error_message = "core_instance_count must be at least 1."
  }
}

variable "ebs_root_volume_size" {
  description = "Root volume of each node, in GiB (null: EMR's default; the embeddings bundle installs 6.4 GB of Python packages)."
  type        = number
  default     = null
}

variable "idle_timeout_seconds" {
  description = "Auto-termination: end the cluster after this long without work (60 s to 7 days)."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = var.idle_timeout_seconds >= 60 && var.idle_timeout_seconds <= 604800
    error_message = "idle_timeout_seconds must be between 60 and 604800."
  }
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
  default     = {}
  nullable    = false
}

variable "deletion_request_uris" {
  description = "s3:// URIs of deletion requests (REQUEST.json) applied after the run, in order."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "action_on_failure" {
  description = "What a failing step does to the ephemeral cluster."
  type        = string
  default     = "TERMINATE_CLUSTER"
  nullable    = false

  validation {
    condition     = contains(["TERMINATE_CLUSTER", "CANCEL_AND_WAIT", "CONTINUE"], var.action_on_failure)
    error_message = "action_on_failure must be TERMINATE_CLUSTER, CANCEL_AND_WAIT or CONTINUE."
  }
}

variable "driver_memory" {
  description = "spark-submit --driver-memory of the steps."
  type        = string
  default     = "4g"
  nullable    = false
}

variable "glue_jobs_enabled" {
  description = "Define the Glue jobs (run a pipeline, apply a deletion request)."
  type        = bool
  default     = true
  nullable    = false
}

variable "glue_version" {
  description = "Glue version: 5.1 has the Spark (3.5.6), Delta (3.3.2) and Python (3.11) the engine is tested with (spark_lester/aws/versions.py)."
  type        = string
  default     = "5.1"
  nullable    = false
}

variable "glue_worker_type" {
  description = "Glue worker type."
  type        = string
  default     = "G.1X"
  nullable    = false
}

variable "glue_number_of_workers" {
  description = "Glue workers per job run."
  type        = number
  default     = 2
  nullable    = false
}

variable "glue_timeout_minutes" {
  description = "Glue job timeout."
  type        = number
  default     = 120
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
