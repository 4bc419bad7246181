package main

import "github.com/spf13/cobra"

// addCompletionCmd adds cobra's completion command (bash, zsh, fish,
// powershell) now rather than at Execute, so that it is part of the tree
// that rejectUnknownSubcommands and markRunErrors see, and documents it.
func addCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Long = `Generate the shell completion script for sluice: subcommands, flags, flag
values (-o) and pipeline file names.

  bash:        source <(sluice completion bash)
  zsh:         sluice completion zsh > "${fpath[1]}/_sluice"
  fish:        sluice completion fish > ~/.config/fish/completions/sluice.fish
  powershell:  sluice completion powershell | Out-String | Invoke-Expression

See 'sluice completion SHELL --help' for how to load it in every new shell.`
		}
	}
}
