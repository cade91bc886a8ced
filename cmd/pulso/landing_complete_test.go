package main

import (
	"encoding/json"
	"testing"
)

// An --as-of replay leaves the demo files' later rows filtered; the next run, as of
// the set's own day, reads those files again (the plan says so) and raw ends equal to
// one run as of that day.
func TestAsOfReplayThenCatchUpEqualsOneRun(t *testing.T) {
	t.Parallel()
	dir := demoSet(t)
	ref := referenceChecksums(t, dir)
	url := migrated(t)
	mustRun(t, url, "--as-of", "2025-07-10", "run-pipeline", "--source", "dir", "--dir", dir)

	res := mustRun(t, url, pipelineArgs(dir, "--plan")...)
	var plan pipelinePlan
	if err := json.Unmarshal([]byte(res.stdout), &plan); err != nil {
		t.Fatalf("plan: %v\n%s", err, res.stdout)
	}
	reread := map[string]int{}
	for _, tp := range plan.Tables {
		for _, p := range tp.Parts {
			if p.Incomplete && !p.Read {
				t.Errorf("%s: %s held rows beyond the last window but the plan would not read it", tp.Table, p.Name)
			}
			if p.Incomplete {
				reread[tp.Table]++
			}
		}
		if reread[tp.Table] > 0 && tp.WouldSkip != "" {
			t.Errorf("%s: plan would skip (%s) a table with files still owed rows", tp.Table, tp.WouldSkip)
		}
	}
	for _, table := range []string{"trandeuda", "pagos", "voicebot_gestiones", "mibotair_gestiones"} {
		if reread[table] == 0 {
			t.Errorf("%s: the plan lists no file to read again; want the files with rows after 07-10", table)
		}
	}

	mustRun(t, url, pipelineArgs(dir)...)
	sameChecksums(t, ref, checksums(t, openPool(t, url)), "raw.", "after runs as of 07-10 then 07-15 from one as of 07-15")
}
