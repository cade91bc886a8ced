package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
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

// A --dir that does not exist is one usage error (exit 2) naming it, before any table
// runs; an existing directory without a single landing file loads nothing and says so.
func TestLandingDirectoryMissingOrEmpty(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	missing := filepath.Join(t.TempDir(), "nope")
	res := runBin(t, t.Context(), url, "--as-of", "2025-07-15", "run-pipeline", "--source", "dir", "--dir", missing)
	if res.code != exitUsage || strings.Count(res.stderr, missing) != 1 {
		t.Errorf("missing --dir: exit %d, want %d and one message naming it\n%s", res.code, exitUsage, res.stderr)
	}
	pool := openPool(t, url)
	var runs int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM etl.run`).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 0 {
		t.Errorf("a refused --dir recorded %d runs", runs)
	}
	empty := t.TempDir()
	res = runBin(t, t.Context(), url, "--as-of", "2025-07-15", "run-pipeline", "--source", "dir", "--dir", empty)
	if res.code != exitOK || !strings.Contains(res.stderr, "holds no landing file") {
		t.Errorf("empty --dir: exit %d, want 0 with a warning\n%s", res.code, res.stderr)
	}
}
