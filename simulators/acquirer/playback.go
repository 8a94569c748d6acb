package acquirer

import (
	"time"

	"github.com/moov-io/iso8583"
	"github.com/possim/possim/simulators/iso"
)

// Playback lets a recording answer for the host (possim host --playback):
// a request that matches a recorded one is answered as it was then.
type Playback interface {
	// Plan is asked for every well-formed request no fault fired on,
	// before the host decides it; ok is false when nothing recorded
	// matches.
	Plan(req *iso8583.Message) (plan PlaybackPlan, ok bool)
}

// What a recording did with a request.
const (
	PlayAnswer  = "answer"  // answered, after Delay
	PlaySilence = "silence" // never answered
	PlayClose   = "close"   // closed the connection instead of answering
)

// PlaybackPlan is how to answer one request as recorded.
type PlaybackPlan struct {
	Action string
	// Code is the recorded response code. It is imposed on the decision
	// (and journaled) except for network management, whose sign-on must
	// still hand out a key the terminal can use.
	Code  string
	Delay time.Duration
	// Rewrite turns the host's answer into the recorded one, echoing the
	// new request's STAN, references and dates.
	Rewrite func(resp *iso8583.Message)
	Note    string // which recorded exchange it plays, for the trace
}

// playback asks the recording how to answer r: the fault-shaped plan the
// send path carries out and the rewrite of the answer, or nil when the
// rules answer (a miss without Config.PlaybackMiss).
func (h *Host) playback(r *req) (*Fault, func(*iso8583.Message)) {
	plan, ok := h.cfg.Playback.Plan(r.m)
	if !ok {
		if h.cfg.PlaybackMiss == "" {
			return nil, nil
		}
		return &Fault{Name: "playback miss", Action: ActRespond, Code: h.cfg.PlaybackMiss, playback: true}, nil
	}
	f := &Fault{Name: plan.Note, Delay: plan.Delay, playback: true}
	switch {
	case plan.Action == PlaySilence:
		f.Action = ActDrop
	case plan.Action == PlayClose:
		f.Action = ActClose
	case plan.Code != "" && r.mti != iso.MTINetworkRequest:
		f.Action, f.Code = ActRespond, plan.Code
	default:
		f.Action = ActDelay
	}
	h.log.Info("playback", "plays", plan.Note, "action", plan.Action, "mti", r.mti, "stan", r.stan)
	return f, plan.Rewrite
}

// wireNote is the trace note of a message a fault or the playback shaped.
func (f *Fault) wireNote() string {
	if f.playback {
		action := f.Action
		if action == ActDelay || action == ActRespond {
			action = PlayAnswer
		}
		return "playback of " + f.Name + ": " + action
	}
	return "fault " + f.Action
}
