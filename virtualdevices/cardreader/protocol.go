package cardreader

// Command names of the reader protocol. The answer format and the plumbing
// shared with the PIN pad are in package serial (Message, CommandServer,
// CommandClient).
const (
	cmdStatus = "STATUS"
	cmdWait   = "WAIT"
	cmdARPC   = "ARPC"
	cmdCancel = "CANCEL"
	cmdRemove = "REMOVE?"
)

// Status words: the second word of every response.
const (
	swOK       = "OK"
	swTimeout  = "TIMEOUT"
	swCancel   = "CANCEL"
	swChipErr  = "CHIPERR"
	swBadSwipe = "BADSWIPE"
	swRemoved  = "REMOVED"
	swFail     = "FAIL"
	swErr      = "ERR"
)
