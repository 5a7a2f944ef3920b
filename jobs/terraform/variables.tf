variable "display_name" {
  description = "The app registration's name, as customers' admins see it on the consent screen."
  type        = string
  default     = "dirsync"
}

variable "owners" {
  description = "Object ids of the app registration's owners."
  type        = list(string)
  default     = []
}

variable "consent_redirect_uris" {
  description = "Redirect URIs allowed after admin consent (https; what `dirsync domains consent-url --redirect-uri` may use)."
  type        = list(string)
  default     = []
}

variable "oidc_issuer_url" {
  description = "The Kubernetes cluster's OIDC issuer URL, exactly as the cluster reports it (AKS: az aks show --query oidcIssuerProfile.issuerUrl), including any trailing slash."
  type        = string

  validation {
    condition     = startswith(var.oidc_issuer_url, "https://")
    error_message = "oidc_issuer_url must be the cluster's https OIDC issuer URL."
  }
}

variable "service_account_subject" {
  description = "The subject of the CronJob's service-account token: system:serviceaccount:<namespace>:<service account>."
  type        = string
  default     = "system:serviceaccount:dirsync:dirsync"

  validation {
    condition     = can(regex("^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", var.service_account_subject))
    error_message = "service_account_subject must look like system:serviceaccount:<namespace>:<service account>."
  }
}
