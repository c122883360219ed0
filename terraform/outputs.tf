output "code_uri" {
  description = "spark-lester emr submit --code-uri"
  value       = module.lester.code_uri
}

output "warehouse_uri" {
  description = "spark-lester ... --warehouse"
  value       = module.lester.warehouse_uri
}

output "log_uri" {
  description = "spark-lester emr submit --log-uri"
  value       = module.lester.log_uri
}

output "emr_service_role_name" {
  description = "spark-lester emr submit --service-role"
  value       = module.lester.emr_service_role_name
}

output "emr_instance_profile_name" {
  description = "spark-lester emr submit --instance-profile"
  value       = module.lester.emr_instance_profile_name
}

output "cluster_id" {
  description = "The ephemeral cluster, when create_cluster = true."
  value       = module.lester.cluster_id
}

output "glue_job_names" {
  description = "Glue jobs (run_pipeline, apply_deletion)."
  value       = module.lester.glue_job_names
}
