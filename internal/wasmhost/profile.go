//go:build !wasip1

package wasmhost

import "slices"

// Profile is the Envoy host a VM emulates: which WASI functions it provides,
// how poll_oneoff behaves, and which imports the restricted phases allow.
// The proxy-wasm (env) functions are the same in every profile.
//
// The WASI sets follow proxy-wasm-cpp-host's source. Before 1.39 it provides
// fd_write, fd_read, fd_seek, fd_close, fd_fdstat_get, environ_get,
// environ_sizes_get, args_get, args_sizes_get, clock_time_get, random_get,
// proc_exit, path_open, fd_prestat_get and fd_prestat_dir_name (the file
// functions as stubs); Envoy 1.33 added sched_yield, poll_oneoff (a stub that
// returns ENOSYS) and fd_fdstat_set_flags (proxy-wasm-cpp-host #427); Envoy
// 1.39 provides every wasip1 function (#533). So a Go module that imports os
// loads on 1.33-1.38 unless it also imports the other file functions (a
// module using text/template fails on Envoy 1.38 with "missing import:
// wasi_snapshot_preview1.fd_filestat_set_size", after fd_close was found).
// Where cpp-host has a stub, this host uses wazero's implementation, except
// poll_oneoff before 1.39, which returns ENOSYS (52) as Envoy's does.
//
// The restricted-phase allow-lists before 1.39 are cpp-host's: during
// _initialize, proxy_log, fd_write, args_get, args_sizes_get, environ_get,
// environ_sizes_get, fd_prestat_get, fd_prestat_dir_name, clock_time_get and
// random_get; during the allocator, proxy_log, fd_write and clock_time_get.
// For 1.39 this host adds sched_yield and poll_oneoff to both lists, and
// fd_fdstat_get and fd_fdstat_set_flags to the first, after the discussion of
// #533 (Go's runtime sleeps and yields while it allocates; Go's package
// initialisers set stdio non-blocking); the exact 1.39 lists are not
// verified against a release.
type Profile int

// Host profiles.
const (
	// Envoy139 is Envoy 1.39 and newer: every wasi_snapshot_preview1
	// function, as wazero implements it. It is the zero Profile.
	Envoy139 Profile = iota
	// Envoy133to138 is Envoy 1.33 to 1.38: the WASI functions listed on
	// Profile, with poll_oneoff returning ENOSYS.
	Envoy133to138
	// Envoy132 is Envoy 1.32 and older: as Envoy133to138, without
	// sched_yield, poll_oneoff and fd_fdstat_set_flags.
	Envoy132
)

// String names the Envoy versions the profile stands for.
func (p Profile) String() string {
	switch p {
	case Envoy139:
		return "Envoy 1.39+"
	case Envoy133to138:
		return "Envoy 1.33-1.38"
	case Envoy132:
		return "Envoy 1.32 and older"
	}
	return "unknown profile"
}

func (p Profile) valid() bool { return p >= Envoy139 && p <= Envoy132 }

const wasiModule = "wasi_snapshot_preview1"

// wasi132 are the WASI functions proxy-wasm-cpp-host provides before #427.
var wasi132 = []string{
	"fd_write", "fd_read", "fd_seek", "fd_close", "fd_fdstat_get",
	"environ_get", "environ_sizes_get", "args_get", "args_sizes_get",
	"clock_time_get", "random_get", "proc_exit", "path_open",
	"fd_prestat_get", "fd_prestat_dir_name",
}

// wasi133 adds what #427 (Envoy 1.33) added.
var wasi133 = append(slices.Clone(wasi132), "sched_yield", "poll_oneoff", "fd_fdstat_set_flags")

// ProvidesWASI says whether the profile's hosts provide the
// wasi_snapshot_preview1 function name (cmd/wasmcheck asks it too).
func (p Profile) ProvidesWASI(name string) bool {
	switch p {
	case Envoy133to138:
		return slices.Contains(wasi133, name)
	case Envoy132:
		return slices.Contains(wasi132, name)
	}
	return true
}

// pollENOSYS says whether poll_oneoff is Envoy's stub that fails with ENOSYS.
func (p Profile) pollENOSYS() bool { return p == Envoy133to138 }

// The restricted phases, and what each allows (import names as Calls spells
// them).
type restriction int

const (
	unrestricted restriction = iota
	inInitialize
	inAllocator
)

func (r restriction) String() string {
	if r == inAllocator {
		return "the allocator (proxy_on_memory_allocate) runs"
	}
	return "_initialize runs"
}

var (
	initializeAllowed = []string{
		"proxy_log",
		wasiModule + ".fd_write",
		wasiModule + ".args_get", wasiModule + ".args_sizes_get",
		wasiModule + ".environ_get", wasiModule + ".environ_sizes_get",
		wasiModule + ".fd_prestat_get", wasiModule + ".fd_prestat_dir_name",
		wasiModule + ".clock_time_get",
		wasiModule + ".random_get",
	}
	allocatorAllowed = []string{
		"proxy_log",
		wasiModule + ".fd_write",
		wasiModule + ".clock_time_get",
	}
	initializeAllowed139 = append(slices.Clone(initializeAllowed),
		wasiModule+".sched_yield", wasiModule+".poll_oneoff",
		wasiModule+".fd_fdstat_get", wasiModule+".fd_fdstat_set_flags")
	allocatorAllowed139 = append(slices.Clone(allocatorAllowed),
		wasiModule+".sched_yield", wasiModule+".poll_oneoff")
)

// allows says whether the import name may be called in restricted phase r.
func (p Profile) allows(r restriction, name string) bool {
	switch {
	case r == unrestricted:
		return true
	case r == inInitialize && p == Envoy139:
		return slices.Contains(initializeAllowed139, name)
	case r == inInitialize:
		return slices.Contains(initializeAllowed, name)
	case p == Envoy139:
		return slices.Contains(allocatorAllowed139, name)
	}
	return slices.Contains(allocatorAllowed, name)
}
