package report

import "io"

// Figures returns the study's figures (placeholder until the figures land).
func Figures(runs []Run) Files { return Files{} }

// RenderPNGs renders PNG screenshots of the HTML figures (placeholder).
func RenderPNGs(dir string, files Files, log io.Writer) {}
