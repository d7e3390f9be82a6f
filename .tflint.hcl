# tflint configuration for every module under terraform/.
# Run from the repository root:
#   tflint --init
#   tflint --recursive --config "$(pwd)/.tflint.hcl" --format compact
# (--recursive looks for a config in each module folder unless --config is
# an absolute path.)

config {
  # Evaluate calls to local modules, so values passed to ./modules/* are
  # checked too. Remote modules would need `terraform init` ("all").
  call_module_type = "local"
}

# The terraform ruleset is bundled with tflint. Declaring the plugin without
# a preset enables every rule ("all"); set the preset explicitly.
plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

rule "terraform_naming_convention" {
  enabled = true
}

rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}

rule "terraform_typed_variables" {
  enabled = true
}

rule "terraform_standard_module_structure" {
  enabled = true
}

rule "terraform_unused_declarations" {
  enabled = true
}
