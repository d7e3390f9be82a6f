//! `kubeadm token create/list` and `kubeadm init phase upload-certs`.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(crate) fn admin_endpoint(args: &[String]) -> Result<String, Fail> {
    let kc = flag(args, "--kubeconfig").unwrap_or_else(|| format!("{K8S}/admin.conf"));
    match kubeconfig_endpoint(&kc) {
        Some(ep) => Ok(ep),
        None => fail(1, format!("failed to load admin kubeconfig: open {kc}: no such file or directory")),
    }
}

pub(crate) fn valid_token(t: &str) -> bool {
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    t.split_once('.').is_some_and(|(id, secret)| ok(id, 6) && ok(secret, 16))
}

/// `kubeadm token create [TOKEN] [--ttl D] [--description S] [--print-join-command] [--config F]`:
/// with `--config` the InitConfiguration's bootstrapTokens are created or updated (UpdateOrCreateTokens).
/// The CA at `DIR/ca.{crt,key}` (what the provider wrote), else a new one
/// written there, as kubeadm's certs phase does.
pub(crate) fn existing_or_new_ca(dir: &str, common_name: &str) -> Result<(String, String), Fail> {
    let (crt_path, key_path) = (format!("{dir}/ca.crt"), format!("{dir}/ca.key"));
    if let (Ok(c), Ok(k)) = (fs::read_to_string(&crt_path), fs::read_to_string(&key_path)) {
        return Ok((c, k));
    }
    io_err(dir, fs::create_dir_all(dir))?;
    let (c, k) = pki::new_ca(common_name)?;
    io_err(&crt_path, fs::write(&crt_path, &c))?;
    io_err(&key_path, fs::write(&key_path, &k))?;
    Ok((c, k))
}

pub(crate) fn kubeadm_token_create(args: &[String]) -> R {
    let mut wanted: Vec<Token> = Vec::new();
    if let Some(cfg) = flag(args, "--config") {
        let docs = parse_config(&cfg, &["InitConfiguration", "ClusterConfiguration"])?;
        for (kind, d) in &docs {
            if kind != "InitConfiguration" {
                continue;
            }
            for t in d["bootstrapTokens"].as_vec().cloned().unwrap_or_default() {
                let ttl = t["ttl"].as_str().unwrap_or("24h");
                let secs =
                    parse_duration(ttl).ok_or(Fail(1, format!("bootstrapTokens.ttl: invalid duration \"{ttl}\"")))?;
                wanted.push(Token {
                    value: t["token"].as_str().map(str::to_string).unwrap_or_else(new_token),
                    expires: if secs == 0 { u64::MAX } else { now_secs() + secs },
                    description: t["description"].as_str().unwrap_or("").to_string(),
                });
            }
        }
    }
    if wanted.is_empty() {
        let ttl = flag(args, "--ttl").unwrap_or_else(|| "24h".into());
        let secs = parse_duration(&ttl).ok_or(Fail(1, format!("invalid argument \"{ttl}\" for \"--ttl\" flag")))?;
        let given = args.iter().skip(2).find(|a| !a.starts_with('-') && a.contains('.')).cloned();
        wanted.push(Token {
            value: given.unwrap_or_else(new_token),
            // ttl 0 means the token never expires.
            expires: if secs == 0 { u64::MAX } else { now_secs() + secs },
            description: flag(args, "--description").unwrap_or_default(),
        });
    }
    for t in &wanted {
        if !valid_token(&t.value) {
            return fail(
                1,
                format!(
                    "the bootstrap token \"{}\" was not of the form \"\\\\A([a-z0-9]{{6}})\\\\.([a-z0-9]{{16}})\\\\z\"",
                    t.value
                ),
            );
        }
    }
    let endpoint = admin_endpoint(args)?;
    let token = wanted[0].value.clone();
    let hash = with_cluster(|cf| {
        let Some(c) = cf.clusters.iter_mut().find(|c| c.endpoint == endpoint) else {
            return fail(1, format!("unable to create token: dial tcp {endpoint}: connect: connection refused"));
        };
        for t in wanted {
            // As kubeadm's CreateNewTokens: a Secret for this ID that
            // exists is an error, never an update.
            let id = t.value.split('.').next().unwrap_or("").to_string();
            if c.tokens.iter().any(|x| x.value.split('.').next() == Some(id.as_str())) {
                return fail(1, format!("a token with id \"{id}\" already exists"));
            }
            c.tokens.push(t);
        }
        Ok(c.ca_hash.clone())
    })?;
    if args.iter().any(|a| a == "--print-join-command") {
        println!("kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash sha256:{hash} ");
    } else {
        println!("{token}");
    }
    Ok(())
}

pub(crate) fn kubeadm_token_list(args: &[String]) -> R {
    let endpoint = admin_endpoint(args)?;
    let c = cluster::read_clusters(&lab_dir()?).clusters.into_iter().find(|c| c.endpoint == endpoint);
    let Some(c) = c else {
        return fail(1, format!("failed to list bootstrap tokens: dial tcp {endpoint}: connect: connection refused"));
    };
    println!(
        "TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION   EXTRA GROUPS"
    );
    for t in c.tokens.iter().filter(|t| t.expires > now_secs()) {
        let (ttl, exp) = if t.expires == u64::MAX {
            ("<forever>".to_string(), "<never>".to_string())
        } else {
            let left = t.expires - now_secs();
            (
                if left >= 3600 { format!("{}h", left / 3600) } else { format!("{}m", left / 60) },
                cluster::rfc3339(t.expires),
            )
        };
        let desc = if t.description.is_empty() { "<none>" } else { t.description.as_str() };
        println!(
            "{:<25} {:<11} {:<22} {:<24} {:<13} system:bootstrappers:kubeadm:default-node-token",
            t.value, ttl, exp, "authentication,signing", desc
        );
    }
    Ok(())
}

/// `kubeadm init phase upload-certs --upload-certs [--certificate-key K | --config F]`:
/// a certificate key valid 2 h, as the kubeadm-certs Secret is.
pub(crate) fn kubeadm_upload_certs(args: &[String]) -> R {
    if !(args.iter().any(|a| a == "upload-certs") && args.iter().any(|a| a == "--upload-certs")) {
        return fail(1, "lab: only `kubeadm init phase upload-certs --upload-certs` is simulated");
    }
    let mut key = flag(args, "--certificate-key");
    if let Some(cfg) = flag(args, "--config") {
        let docs = parse_config(&cfg, &["InitConfiguration", "ClusterConfiguration"])?;
        if key.is_none() {
            key = docs
                .iter()
                .find(|(k, _)| k == "InitConfiguration")
                .and_then(|(_, d)| d["certificateKey"].as_str().map(str::to_string));
        }
    }
    if let Some(k) = &key {
        if k.len() != 64 || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
            return fail(
                1,
                format!(
                    "error execution phase upload-certs: error uploading certs: error decoding key: encoding/hex: invalid byte or wrong length in \"{k}\""
                ),
            );
        }
    }
    let endpoint = admin_endpoint(args)?;
    let key = key.unwrap_or_else(|| random_hex(64));
    with_cluster(|cf| {
        let Some(c) = cf.clusters.iter_mut().find(|c| c.endpoint == endpoint) else {
            return fail(1, format!("dial tcp {endpoint}: connect: connection refused"));
        };
        c.certificate_key =
            Some(Token { value: key.clone(), expires: now_secs() + 2 * 3600, description: String::new() });
        Ok(())
    })?;
    println!(
        "[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace\n[upload-certs] Using certificate key:\n{key}"
    );
    Ok(())
}

/// Go-style durations as kubeadm's --ttl accepts: 30s, 10m, 2h, 1h30m, 0.
pub(crate) fn parse_duration(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    let (mut total, mut num) = (0u64, String::new());
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
        } else {
            let n: u64 = num.parse().ok()?;
            num.clear();
            total += n * match ch {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return None,
            };
        }
    }
    if num.is_empty() && total > 0 { Some(total) } else { None }
}
