package carrierwatch_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch"
)

func TestIsPermanent(t *testing.T) {
	perm := &carrierwatch.SendError{Permanent: true, Reply: "550 5.1.1 unknown", Err: errors.New("rcpt")}
	temp := &carrierwatch.SendError{Reply: "451 later", Err: errors.New("rcpt")}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"permanent", perm, true},
		{"wrapped permanent", fmt.Errorf("send: %w", perm), true},
		{"temporary", temp, false},
		{"plain error is temporary", errors.New("connection refused"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := carrierwatch.IsPermanent(tt.err); got != tt.want {
			t.Errorf("%s: IsPermanent = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !strings.Contains(perm.Error(), "550 5.1.1 unknown") {
		t.Errorf("error %q lacks the server's reply", perm.Error())
	}
}

func TestValid(t *testing.T) {
	for _, k := range []carrierwatch.Kind{"outage", "resolved", "preparedness"} {
		if !k.Valid() {
			t.Errorf("%s not valid", k)
		}
	}
	if carrierwatch.Kind("other").Valid() || carrierwatch.Segment("").Valid() {
		t.Error("invalid names accepted")
	}
}
