// The canonical model speaks JSON: whoever imports Manufacturing reads and writes events with
// the project's JSON stack too.
@_exported import JSON
