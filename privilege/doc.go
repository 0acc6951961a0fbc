// Package privilege gives up the process's capabilities once they are no
// longer needed.
//
// The exporter needs CAP_NET_RAW only to open its raw sockets; sending and
// receiving on them afterwards needs nothing. So once the sockets are open
// it drops every capability but the ones it still needs (on every thread
// of the process, through libcap's psx: Linux keeps capabilities per
// thread), empties the ambient set and, when allowed, the bounding set, so
// that nothing it does later, and nothing it could be tricked into
// executing, runs with privileges.
package privilege
