//! The Kubernetes Indexed Job recipes (README.md and docs/cluster.md), cut out of the
//! documents' text, validated against the batch/v1 Job schema of the Kubernetes API
//! (the definitions reachable from Job in Kubernetes 1.36's OpenAPI document, vendored
//! in tests/data by scripts/k8s/job_schema.py), strictly: unknown fields are errors, as
//! with `kubectl apply --validate=strict`. Then the rules the API server adds to the
//! schema for a Job, and each container's shell command run by /bin/sh for a few
//! completion indexes: index i must map to `--shard i+1/completions` and its own
//! output folder. Nothing here needs a cluster; the Slurm recipe is the one executed
//! (tests/slurm.rs).

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const SCHEMA: &str = include_str!("data/k8s-batch-v1-job.schema.json");

/// The ```yaml block after the line containing "Kubernetes Indexed Job" in `doc`.
fn recipe(doc: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join(doc)).expect(doc);
    let from = text
        .find("Kubernetes Indexed Job")
        .unwrap_or_else(|| panic!("{doc} has no 'Kubernetes Indexed Job' recipe"));
    let block = &text[from..];
    let start = block.find("```yaml\n").expect("a ```yaml block follows") + 8;
    let yaml = &block[start..start + block[start..].find("```").unwrap()];
    let value: Value = serde_yaml_ng::from_str(yaml)
        .unwrap_or_else(|e| panic!("{doc}: the recipe is not YAML: {e}\n{yaml}"));
    value
}

/// The schema's definitions and strict validation against them.
struct Schema(serde_json::Map<String, Value>);

impl Schema {
    fn load() -> Self {
        let v: Value = serde_json::from_str(SCHEMA).expect("vendored schema is JSON");
        Schema(v["definitions"].as_object().expect("definitions").clone())
    }

    /// Errors of `v` against the definition `name`, each with its path.
    fn errors(&self, v: &Value, name: &str) -> Vec<String> {
        let mut errs = Vec::new();
        self.check(
            v,
            &Value::String(format!("#/definitions/{name}")),
            "",
            &mut errs,
        );
        errs
    }

    fn check(&self, v: &Value, s: &Value, path: &str, errs: &mut Vec<String>) {
        let s = match s.as_str().or_else(|| s["$ref"].as_str()) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap();
                // A Quantity is a string or a number ("2", 2, "4Gi") on the wire.
                if name.ends_with("resource.Quantity") && v.is_number() {
                    return;
                }
                &self.0[name]
            }
            None => s,
        };
        let ty = s["type"].as_str();
        let ok = match ty {
            Some("object") | None => return self.object(v, s, path, errs),
            Some("array") => return self.array(v, s, path, errs),
            Some("string") if s["format"] == "int-or-string" => v.is_string() || v.is_i64(),
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            Some("number") => v.is_number(),
            Some("boolean") => v.is_boolean(),
            Some(other) => panic!("schema type {other} not handled"),
        };
        if !ok {
            errs.push(format!("{path}: expected {}, got {v}", ty.unwrap_or("?")));
        }
    }

    fn object(&self, v: &Value, s: &Value, path: &str, errs: &mut Vec<String>) {
        let Some(obj) = v.as_object() else {
            return errs.push(format!("{path}: expected an object, got {v}"));
        };
        for r in s["required"].as_array().into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap()) {
                errs.push(format!("{path}: required field {r} missing"));
            }
        }
        let props = s["properties"].as_object();
        let extra = &s["additionalProperties"];
        for (k, x) in obj {
            let at = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match props.and_then(|p| p.get(k)) {
                Some(ps) => self.check(x, ps, &at, errs),
                None if extra.is_object() => self.check(x, extra, &at, errs),
                None if props.is_some() => errs.push(format!("{at}: unknown field")),
                None => {} // a free-form object (e.g. FieldsV1)
            }
        }
    }

    fn array(&self, v: &Value, s: &Value, path: &str, errs: &mut Vec<String>) {
        match v.as_array() {
            Some(items) => {
                for (i, x) in items.iter().enumerate() {
                    self.check(x, &s["items"], &format!("{path}[{i}]"), errs);
                }
            }
            None => errs.push(format!("{path}: expected an array, got {v}")),
        }
    }
}

/// What the API server checks beyond the schema for a Job (apiVersion/kind, the pod's
/// restart policy, names, Indexed completions, mounts naming declared volumes).
fn api_rules(job: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let dns = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    if job["apiVersion"] != "batch/v1" || job["kind"] != "Job" {
        errs.push("apiVersion/kind: expected batch/v1 Job".into());
    }
    if !job["metadata"]["name"].as_str().is_some_and(dns) {
        errs.push(format!(
            "metadata.name: not a DNS label: {}",
            job["metadata"]["name"]
        ));
    }
    let spec = &job["spec"];
    if spec["completionMode"] == "Indexed" && spec["completions"].as_i64().is_none_or(|c| c < 1) {
        errs.push("spec.completions: an Indexed Job needs completions >= 1".into());
    }
    let pod = &spec["template"]["spec"];
    if !matches!(pod["restartPolicy"].as_str(), Some("OnFailure" | "Never")) {
        errs.push(format!(
            "spec.template.spec.restartPolicy: {} (a Job's pods: OnFailure or Never)",
            pod["restartPolicy"]
        ));
    }
    let volumes: Vec<&str> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .collect();
    let containers = pod["containers"].as_array().cloned().unwrap_or_default();
    if containers.is_empty() {
        errs.push("spec.template.spec.containers: at least one".into());
    }
    for c in &containers {
        if !c["name"].as_str().is_some_and(dns) {
            errs.push(format!("container name not a DNS label: {}", c["name"]));
        }
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            if !m["name"].as_str().is_some_and(|n| volumes.contains(&n)) {
                errs.push(format!("volumeMount {} names no volume", m["name"]));
            }
        }
    }
    errs
}

/// The container's command line as /bin/sh runs it for completion index `index`, with
/// `amva` a shell function that prints its arguments.
fn command_for_index(job: &Value, index: usize) -> String {
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    let argv: Vec<String> = c["command"]
        .as_array()
        .into_iter()
        .chain(c["args"].as_array())
        .flatten()
        .map(|a| a.as_str().expect("string arguments").to_string())
        .collect();
    assert_eq!(
        &argv[..2],
        ["/bin/sh", "-c"],
        "the recipe runs a shell command"
    );
    let script = format!("amva() {{ echo \"amva $*\"; }}\n{}", argv[2]);
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(script)
        .env_clear()
        .env("JOB_COMPLETION_INDEX", index.to_string());
    for e in c["env"].as_array().into_iter().flatten() {
        cmd.env(
            e["name"].as_str().unwrap(),
            e["value"].as_str().unwrap_or(""),
        );
    }
    let out = cmd.output().expect("/bin/sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_kubernetes_recipes_are_valid_batch_v1_jobs() {
    let schema = Schema::load();
    for doc in ["README.md", "docs/cluster.md"] {
        let job = recipe(doc);
        let mut errs = schema.errors(&job, "io.k8s.api.batch.v1.Job");
        errs.extend(api_rules(&job));
        assert!(errs.is_empty(), "{doc}: {errs:#?}");
        eprintln!("{doc}: a valid batch/v1 Job (strict schema check and API rules)");
    }
}

#[test]
fn each_completion_index_runs_its_own_shard() {
    for doc in ["README.md", "docs/cluster.md"] {
        let (name, job) = (doc, recipe(doc));
        let n = job["spec"]["completions"].as_u64().unwrap() as usize;
        assert_eq!(
            job["spec"]["parallelism"].as_u64(),
            Some(n as u64),
            "{name}"
        );
        let mut outs = Vec::new();
        for index in [0, 1, n - 1] {
            let line = command_for_index(&job, index);
            let words: Vec<&str> = line.split_whitespace().collect();
            let after = |flag: &str| {
                let i = words
                    .iter()
                    .position(|w| *w == flag)
                    .unwrap_or_else(|| panic!("{name}: no {flag} in {line}"));
                words[i + 1].to_string()
            };
            assert_eq!(words[..2], ["amva", "maps"], "{name}: {line}");
            assert_eq!(
                after("--shard"),
                format!("{}/{n}", index + 1),
                "{name}: {line}"
            );
            let out = after("--out");
            assert!(
                out.ends_with(&format!("shard-{}", index + 1)),
                "{name}: {line}"
            );
            outs.push(out);
        }
        outs.dedup();
        assert_eq!(
            outs.len(),
            3,
            "{name}: indexes share an output folder: {outs:?}"
        );
    }
}

#[test]
fn the_check_rejects_broken_jobs() {
    let schema = Schema::load();
    let good = recipe("README.md");
    type Edit = fn(&mut Value);
    let broken: [(&str, Edit); 6] = [
        ("misspelled field", |j| {
            let v = j["spec"]
                .as_object_mut()
                .unwrap()
                .remove("backoffLimit")
                .unwrap();
            j["spec"]["backofLimit"] = v;
        }),
        ("string count", |j| j["spec"]["completions"] = "16".into()),
        ("container without a name", |j| {
            j["spec"]["template"]["spec"]["containers"][0]
                .as_object_mut()
                .unwrap()
                .remove("name");
        }),
        ("env not a list", |j| {
            j["spec"]["template"]["spec"]["containers"][0]["env"] =
                serde_json::json!({"AMVA_MODELS": "/x"})
        }),
        ("restartPolicy Always", |j| {
            j["spec"]["template"]["spec"]["restartPolicy"] = "Always".into()
        }),
        ("mount of an undeclared volume", |j| {
            j["spec"]["template"]["spec"]["volumes"][0]["name"] = "other".into()
        }),
    ];
    for (what, edit) in broken {
        let mut job = good.clone();
        edit(&mut job);
        let mut errs = schema.errors(&job, "io.k8s.api.batch.v1.Job");
        errs.extend(api_rules(&job));
        assert!(!errs.is_empty(), "{what}: not caught");
        eprintln!("{what}: {errs:?}");
    }
}
