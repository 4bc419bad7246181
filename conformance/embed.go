package conformance

import (
	"embed"
	"io/fs"
)

//go:embed cases/*.txtar
var embedded embed.FS

// Cases is the suite that ships with Sluice (cases/), for Load.
func Cases() fs.FS {
	sub, err := fs.Sub(embedded, "cases")
	if err != nil {
		panic(err)
	}
	return sub
}
