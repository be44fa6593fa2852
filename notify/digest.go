package notify

import (
	"sort"
	"time"
)

// DigestEvents builds the daily overdue digest (逾期日报) of date (a civil
// date) from the findings overdue on it: one event per township with overdue
// findings, for that township's officers, and one county-wide event for the
// supervisors. Causes are "digest:YYYY-MM-DD:乡镇" and "digest:YYYY-MM-DD",
// so building the digest twice on a day enqueues nothing new. No overdue
// findings, no digest.
func DigestEvents(at, date time.Time, overdue []Finding) []Event {
	if len(overdue) == 0 {
		return nil
	}
	fs := append([]Finding(nil), overdue...)
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Township != fs[j].Township {
			return fs[i].Township < fs[j].Township
		}
		if !fs[i].Deadline.Equal(fs[j].Deadline) {
			return fs[i].Deadline.Before(fs[j].Deadline)
		}
		return fs[i].ID < fs[j].ID
	})
	day := date.Format("2006-01-02")
	evs := []Event{{Kind: Digest, Cause: "digest:" + day, At: at, Date: date, Overdue: fs,
		Only: []Audience{ToSupervisors}}}
	for start := 0; start < len(fs); {
		end := start
		for end < len(fs) && fs[end].Township == fs[start].Township {
			end++
		}
		if tw := fs[start].Township; tw != "" {
			evs = append(evs, Event{Kind: Digest, Cause: "digest:" + day + ":" + tw, At: at, Date: date,
				Overdue: fs[start:end], Township: tw, Only: []Audience{ToOfficers}})
		}
		start = end
	}
	return evs
}
