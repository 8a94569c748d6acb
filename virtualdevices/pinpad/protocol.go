package pinpad

// Command names of the PIN pad protocol. The answer format and the
// plumbing shared with the card reader are in package serial (Message,
// CommandServer, CommandClient).
const (
	cmdStatus  = "STATUS"
	cmdLoadKey = "LOADKEY"
	cmdPIN     = "PIN"
	cmdDisplay = "DISPLAY"
	cmdCancel  = "CANCEL"
)

// Status words: the second word of every response.
const (
	swOK      = "OK"
	swTimeout = "TIMEOUT"
	swCancel  = "CANCEL"
	swNoKey   = "NOKEY"
	swErr     = "ERR"
)
