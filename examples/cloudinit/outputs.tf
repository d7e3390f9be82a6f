output "sha256" {
  description = "Checksum of each node's user-data; changes whenever a VM would be replaced."
  value       = { for name, config in cloudinit_config.node : name => config.sha256 }
}

output "user_data" {
  description = "Rendered user-data per node."
  value       = { for name, config in cloudinit_config.node : name => config.rendered }
}
