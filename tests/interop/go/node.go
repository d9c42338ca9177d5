package main

import (
	"fmt"
	"os"
)

// Node mode (full go-libp2p host: yamux, identify, ping, a /x/echo
// stream) comes in a later step.
func cmdNodeDial(args []string) int {
	fmt.Fprintln(os.Stderr, "gopeer node-dial: not built yet")
	return exitUsage
}

func cmdNodeListen(args []string) int {
	fmt.Fprintln(os.Stderr, "gopeer node-listen: not built yet")
	return exitUsage
}
