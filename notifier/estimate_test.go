package notifier_test

import (
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
)

func TestEstimateSend(t *testing.T) {
	counts := map[carrierwatch.Segment]int{
		carrierwatch.SegmentPhoneOnly: 13_333, carrierwatch.SegmentOtherPhone: 13_334, carrierwatch.SegmentApp: 13_333,
	}
	e := notifier.EstimateSend(counts, notifier.SendLimits{RatePerSecond: 20})
	if got, want := e.String(), "13,333 phone-only: 11 min; 13,334 other-phone: 22 min; 13,333 app: 33 min; all 40,000: 33 min at 20/s"; got != want {
		t.Errorf("estimate\n got %q\nwant %q", got, want)
	}
	if e.Segments[0].Done != time.Duration(13_333)*time.Second/20 {
		t.Errorf("phone-only done after %v", e.Segments[0].Done)
	}

	// Exchange Online: 30 a minute, 10,000 a day, 100 already sent today.
	e = notifier.EstimateSend(counts, notifier.SendLimits{RatePerSecond: 1, RatePerMinute: 30, DailyLimit: 10_000, SentLast24h: 100})
	if e.Limits.Rate() != 0.5 {
		t.Errorf("rate = %v, want the per-minute limit's 0.5/s", e.Limits.Rate())
	}
	// 9,900 left today; 40,000 mails: today, then 3 more days (the last
	// with 100).
	if e.Days != 5 {
		t.Errorf("days = %d, want 5", e.Days)
	}
	po := e.Segments[0]
	if po.Day != 2 || po.Done != 24*time.Hour+time.Duration(3_433)*2*time.Second {
		t.Errorf("phone-only: day %d after %v; want day 2 after 1 d + 3,433 mails at 0.5/s", po.Day, po.Done)
	}
	if got := e.String(); got == "" || !contains(got, "5 days at 10,000 a day (phone-only done on day 2)") {
		t.Errorf("estimate %q lacks the days", got)
	}

	// A daily limit of 100 and 300 users: three days, phone-only on the first.
	e = notifier.EstimateSend(map[carrierwatch.Segment]int{carrierwatch.SegmentPhoneOnly: 100, carrierwatch.SegmentApp: 200}, notifier.SendLimits{DailyLimit: 100})
	if e.Days != 3 || e.Segments[0].Day != 1 || e.Segments[1].Day != 3 {
		t.Errorf("daily 100: %+v", e)
	}
	if got := notifier.EstimateSend(nil, notifier.SendLimits{}).String(); got != "nothing to send" {
		t.Errorf("empty: %q", got)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
