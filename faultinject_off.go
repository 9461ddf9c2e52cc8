//go:build !corswasm_faultinject

package main

import "github.com/corswasm/corswasm/abi"

// withFaults is the identity in the release build: faults are injected only
// by test builds (-tags corswasm_faultinject, faultinject_on.go).
func withFaults(newRoot func(uint32) abi.Root) func(uint32) abi.Root { return newRoot }
