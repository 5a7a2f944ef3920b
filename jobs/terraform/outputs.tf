output "client_id" {
  description = "The application (client) id: AZURE_CLIENT_ID and the service account's azure.workload.identity/client-id."
  value       = azuread_application.dirsync.client_id
}

output "federated_subject" {
  description = "The service-account subject Entra trusts."
  value       = azuread_application_federated_identity_credential.cronjob.subject
}
