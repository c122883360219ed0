output "code_bucket" {
  description = "Bucket holding the bundle (wheel, requirements, emr/ scripts)."
  value       = aws_s3_bucket.this["code"].id
}

output "artifacts_bucket" {
  description = "Bucket holding the warehouse (Delta tables) and step results."
  value       = aws_s3_bucket.this["artifacts"].id
}

output "logs_bucket" {
  description = "Bucket holding EMR logs."
  value       = aws_s3_bucket.this["logs"].id
}

output "code_uri" {
  description = "S3 prefix of the uploaded bundle (spark-lester emr submit --code-uri)."
  value       = local.code_uri
}

output "warehouse_uri" {
  description = "Warehouse root (spark-lester ... --warehouse)."
  value       = local.warehouse_uri
}

output "log_uri" {
  description = "EMR log URI (spark-lester emr submit --log-uri)."
  value       = local.log_uri
}

output "results_uri" {
  description = "Where steps copy their JSON summaries."
  value       = local.results_uri
}

output "bootstrap_uri" {
  description = "The bootstrap action script in S3."
  value       = local.bootstrap_uri
}

output "step_script_uri" {
  description = "The EMR step driver in S3."
  value       = local.step_script_uri
}

output "cluster_id" {
  description = "Id of the ephemeral cluster (null unless create_cluster)."
  value       = one(aws_emr_cluster.this[*].id)
}

output "emr_service_role_name" {
  description = "EMR service role (spark-lester emr submit --service-role)."
  value       = aws_iam_role.emr_service.name
}

output "emr_instance_profile_name" {
  description = "EC2 instance profile of the EMR nodes (spark-lester emr submit --instance-profile)."
  value       = aws_iam_instance_profile.emr_ec2.name
}

output "glue_role_arn" {
  description = "Role of the Glue jobs."
  value       = aws_iam_role.glue.arn
}

output "glue_job_names" {
  description = "Glue job names by kind (run_pipeline, apply_deletion)."
  value       = { for k, job in aws_glue_job.this : k => job.name }
}
