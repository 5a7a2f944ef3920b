# The dirsync app registration: one multi-tenant application that customer tenants consent to,
# with exactly the four read-only Microsoft Graph application permissions dirsync needs, and a
# federated identity credential trusting the Kubernetes service account of the CronJob, so no
# client secret or certificate exists anywhere.
#
#   terraform init
#   terraform apply -var 'oidc_issuer_url=https://<region>.oic.prod-aks.azure.com/<tenant>/<guid>/'
#
# Then give the output client_id to the CronJob's service account
# (azure.workload.identity/client-id) and AZURE_CLIENT_ID, and send each customer's admin the link
# from `dirsync domains consent-url DOMAIN`.

terraform {
  required_version = ">= 1.5"
  required_providers {
    azuread = {
      source  = "hashicorp/azuread"
      version = "~> 3.0"
    }
  }
}

provider "azuread" {
  # Authenticates as the caller (az login, or ARM_* variables in CI) in the app's home tenant.
}

locals {
  # Microsoft Graph's application id: the API every permission below belongs to.
  microsoft_graph_app_id = "00000003-0000-0000-c000-000000000000"
}

resource "azuread_application" "dirsync" {
  display_name     = var.display_name
  sign_in_audience = "AzureADMultipleOrgs"
  owners           = var.owners

  # Where Entra sends a customer's admin after consent; empty means Entra's default page.
  web {
    redirect_uris = var.consent_redirect_uris
  }

  # Application permissions (type Role), all read-only. Keep in sync with GraphPermission in
  # Sources/DirSyncCore/Onboarding/GraphPermission.swift; TerraformKitTests checks both agree.
  required_resource_access {
    resource_app_id = local.microsoft_graph_app_id

    # User.Read.All: read every user's profile (users/delta).
    resource_access {
      id   = "df021288-bdef-4463-88db-98f22de89214"
      type = "Role"
    }

    # Group.Read.All: read every group's properties (groups/delta).
    resource_access {
      id   = "5b567255-7703-4780-807c-7be8301ae99b"
      type = "Role"
    }

    # GroupMember.Read.All: read group memberships (members@delta).
    resource_access {
      id   = "98830695-27a2-44f7-8c18-0c3ebc9698f6"
      type = "Role"
    }

    # Directory.Read.All: read the tenant's domains (verification) and non-user members.
    resource_access {
      id   = "7ab1d382-f21e-4acd-a863-ba3e13f7da61"
      type = "Role"
    }
  }
}

# The CronJob's projected service-account token is exchanged for an app token: Entra trusts the
# cluster's OIDC issuer for exactly this subject, and only for the token-exchange audience.
resource "azuread_application_federated_identity_credential" "cronjob" {
  application_id = azuread_application.dirsync.id
  display_name   = "dirsync-cronjob"
  description    = "Kubernetes service account of the dirsync CronJob (workload identity)"
  audiences      = ["api://AzureADTokenExchange"]
  issuer         = var.oidc_issuer_url
  subject        = var.service_account_subject
}
