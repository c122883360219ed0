variable "region" {
  description = "AWS region to deploy to (no default: nothing here names a region)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "lester"
}

variable "bundle_dir" {
  description = "Folder written by `spark-lester package` (relative to this folder or absolute)."
  type        = string
  default     = "../dist/spark_lester"
}

variable "create_cluster" {
  description = "Start the ephemeral EMR cluster that runs the pipeline and the deletion requests."
  type        = bool
  default     = false
}

variable "release_label" {
  description = "EMR 7.x release."
  type        = string
  default     = "emr-7.9.0"
}

variable "subnet_id" {
  description = "Subnet of the cluster (required with create_cluster)."
  type        = string
  default     = null
}

variable "core_instance_count" {
  description = "Number of core nodes."
  type        = number
  default     = 2
}

variable "idle_timeout_seconds" {
  description = "Auto-termination idle timeout."
  type        = number
  default     = 3600
}

variable "pipeline_uri" {
  description = "s3:// URI of the PIPELINE.py to run (null: no run step)."
  type        = string
  default     = null
}

variable "sources" {
  description = "Sources of the pipeline: name => s3:// URI."
  type        = map(string)
  default     = {}
}

variable "deletion_request_uris" {
  description = "Deletion requests to apply after the run, in order."
  type        = list(string)
  default     = []
}

variable "source_bucket_names" {
  description = "Buckets the pipelines read (read-only)."
  type        = list(string)
  default     = []
}

variable "force_destroy" {
  description = "Allow destroying non-empty buckets."
  type        = bool
  default     = false
}
