# The values of this site, committed: Terraform reads every *.auto.tfvars
# of the root module by itself, so Atlantis outside the cluster (phase 1)
# and inside it (phase 2) plan with the same values, and changing one is a
# pull request like any other. No secrets here (the plan comment and git
# show this file): credentials come from the environment (docs/setup.md).
# Anything not set keeps its default in variables.tf (the blueprint);
# terraform.tfvars.example shows more, such as a one-host layout.

# GitHub users whose keys (https://github.com/<user>.keys) may log in to
# the nodes as ssh_user, fetched when a node is planned. Empty until you
# add yours: a placeholder name could be a stranger's account.
ssh_keys_from_github = []

# The public half of the key kubeadm_cluster uses (TF_VAR_ssh_private_key
# holds the private half). Replace this example with your Atlantis key:
# without it, no node accepts the bootstrap over SSH.
ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOnlyReplaceMeWithYourAtlantisKey0000 atlantis@homelab"]

timezone = "Etc/UTC"
