//! The cloud-config schema of cloud-init 25.1 (Debian 13's version), as
//! rules the provider checks at plan time, so a typo in `base` fails the
//! plan with its path (`write_files[0].contnt`) instead of being ignored
//! with a warning on the node's first boot.
//!
//! Written from cloud-init 25.1's published `schema-cloud-config-v1.json`:
//! the top level accepts exactly the keys that schema lists, and the
//! modules people write by hand (files, commands, packages, users, apt,
//! NTP, SSH, mounts, host name, power state, ...) are checked in depth with
//! the same types, enums, required keys and closed objects. Keys of other
//! modules (chef, puppet, lxd, ...) are accepted with any value, so the
//! check never refuses what cloud-init accepts there. `format` annotations
//! (uri, hostname) are not checked: cloud-init only warns about them.
//! The differential test in `schema_tests.rs` runs a corpus through these
//! rules and the real `cloud-init schema`, and the verdicts must agree.

use crate::yaml::{Mapping, Yaml};

/// What a node must look like.
#[derive(Debug)]
pub enum Rule {
    /// Anything (modules the rules do not go into).
    Any,
    /// A string.
    Str,
    /// A boolean.
    Bool,
    /// An integer (a boolean is not one).
    Int,
    /// Null.
    Null,
    /// One of these scalars.
    Enum(&'static [Lit]),
    /// A string matching a check (JSON schema `pattern`).
    StrWhere(fn(&str) -> bool, &'static str),
    /// A list.
    List(&'static ListRule),
    /// A mapping with known keys.
    Object(&'static ObjectRule),
    /// A mapping with any non-empty keys, each value checked by the rule.
    MapOf(&'static Rule, usize),
    /// Exactly one of the alternatives (JSON schema `oneOf`).
    OneOf(&'static [Rule]),
}

/// A scalar in an [`Rule::Enum`].
#[derive(Debug)]
pub enum Lit {
    /// A string.
    S(&'static str),
    /// A boolean.
    B(bool),
}

/// A list's item rule and length bounds.
#[derive(Debug)]
pub struct ListRule {
    /// Every item.
    pub item: Rule,
    /// Fewest items.
    pub min: usize,
    /// Most items.
    pub max: Option<usize>,
}

/// A mapping's keys.
#[derive(Debug)]
pub struct ObjectRule {
    /// Known keys and their rules.
    pub keys: &'static [(&'static str, Rule)],
    /// Keys that must be present.
    pub required: &'static [&'static str],
    /// Whether keys not listed are refused (`additionalProperties: false`).
    pub closed: bool,
    /// Fewest keys.
    pub min_keys: usize,
}

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, e.g. `write_files[0].contnt`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

const fn list(item: Rule) -> ListRule {
    ListRule { item, min: 0, max: None }
}

const fn non_empty(item: Rule) -> ListRule {
    ListRule { item, min: 1, max: None }
}

const fn closed(keys: &'static [(&'static str, Rule)]) -> ObjectRule {
    ObjectRule { keys, required: &[], closed: true, min_keys: 0 }
}

// --- files, commands, packages ---------------------------------------------

static ENCODINGS: [Lit; 9] = [
    Lit::S("gz"),
    Lit::S("gzip"),
    Lit::S("gz+base64"),
    Lit::S("gzip+base64"),
    Lit::S("gz+b64"),
    Lit::S("gzip+b64"),
    Lit::S("b64"),
    Lit::S("base64"),
    Lit::S("text/plain"),
];
static WRITE_FILE_SOURCE: ObjectRule = ObjectRule {
    keys: &[("uri", Rule::Str), ("headers", Rule::MapOf(&Rule::Str, 0))],
    required: &["uri"],
    closed: true,
    min_keys: 0,
};
static WRITE_FILE: ObjectRule = ObjectRule {
    keys: &[
        ("path", Rule::Str),
        ("content", Rule::Str),
        ("source", Rule::Object(&WRITE_FILE_SOURCE)),
        ("owner", Rule::Str),
        ("permissions", Rule::Str),
        ("encoding", Rule::Enum(&ENCODINGS)),
        ("append", Rule::Bool),
        ("defer", Rule::Bool),
    ],
    required: &["path"],
    closed: true,
    min_keys: 0,
};
static WRITE_FILES: ListRule = non_empty(Rule::Object(&WRITE_FILE));

static STRINGS: ListRule = list(Rule::Str);
static STRINGS_1: ListRule = non_empty(Rule::Str);
static RUNCMD: ListRule = non_empty(Rule::OneOf(&[Rule::List(&STRINGS), Rule::Str, Rule::Null]));
static BOOTCMD: ListRule = non_empty(Rule::OneOf(&[Rule::List(&STRINGS), Rule::Str]));

static NAME_AND_VERSION: ListRule = ListRule { item: Rule::Str, min: 2, max: Some(2) };
static PACKAGE_LIST: ListRule = list(Rule::OneOf(&[Rule::List(&NAME_AND_VERSION), Rule::Str]));
static PACKAGE_MANAGERS: ObjectRule =
    closed(&[("apt", Rule::List(&PACKAGE_LIST)), ("snap", Rule::List(&PACKAGE_LIST))]);
static PACKAGES: ListRule = non_empty(Rule::OneOf(&[Rule::Object(&PACKAGE_MANAGERS), PACKAGE_SHAPE]));
/// `package_item_definition`, inlined where a `static` cannot be named.
const PACKAGE_SHAPE: Rule = Rule::OneOf(&[Rule::List(&NAME_AND_VERSION), Rule::Str]);

// --- users and groups --------------------------------------------------------

static GROUP_MEMBERS: ListRule = non_empty(Rule::Str);
static GROUP_ITEMS: ListRule = non_empty(Rule::OneOf(&[Rule::Str, GROUPS_BY_NAME_SHAPE]));
const GROUPS_BY_NAME_SHAPE: Rule = Rule::MapOf(&Rule::OneOf(&[Rule::Str, Rule::List(&GROUP_MEMBERS)]), 0);
static USER_GROUPS: [Rule; 3] = [Rule::Str, Rule::List(&STRINGS_1), Rule::MapOf(&Rule::Null, 0)];
static SUDO_ITEMS: ListRule = list(Rule::OneOf(&[Rule::Str, Rule::Null]));
static USER: ObjectRule = ObjectRule {
    keys: &[
        ("name", Rule::Str),
        ("doas", Rule::List(&STRINGS_1)),
        ("expiredate", Rule::Str),
        ("gecos", Rule::Str),
        ("groups", Rule::OneOf(&USER_GROUPS)),
        ("homedir", Rule::Str),
        ("inactive", Rule::Str),
        ("lock-passwd", Rule::Bool),
        ("lock_passwd", Rule::Bool),
        ("no-create-home", Rule::Bool),
        ("no_create_home", Rule::Bool),
        ("no-log-init", Rule::Bool),
        ("no_log_init", Rule::Bool),
        ("no-user-group", Rule::Bool),
        ("no_user_group", Rule::Bool),
        ("passwd", Rule::Str),
        ("hashed-passwd", Rule::Str),
        ("hashed_passwd", Rule::Str),
        ("plain-text-passwd", Rule::Str),
        ("plain_text_passwd", Rule::Str),
        ("create-groups", Rule::Bool),
        ("create_groups", Rule::Bool),
        ("primary-group", Rule::Str),
        ("primary_group", Rule::Str),
        ("selinux-user", Rule::Str),
        ("selinux_user", Rule::Str),
        ("shell", Rule::Str),
        ("snapuser", Rule::Str),
        ("ssh_authorized_keys", Rule::List(&STRINGS_1)),
        ("ssh-authorized-keys", Rule::List(&STRINGS_1)),
        ("ssh-import-id", Rule::List(&STRINGS_1)),
        ("ssh_import_id", Rule::List(&STRINGS_1)),
        ("ssh-redirect-user", Rule::Bool),
        ("ssh_redirect_user", Rule::Bool),
        ("system", Rule::Bool),
        ("sudo", Rule::OneOf(&[Rule::Str, Rule::Null, Rule::List(&SUDO_ITEMS), Rule::Bool])),
        ("uid", Rule::OneOf(&[Rule::Int, Rule::Str])),
    ],
    required: &[],
    closed: true,
    min_keys: 0,
};
static USER_ITEMS: ListRule = list(Rule::OneOf(&[Rule::Str, Rule::List(&STRINGS), Rule::Object(&USER)]));

// --- apt ---------------------------------------------------------------------

static MIRROR: ObjectRule = ObjectRule {
    keys: &[
        ("arches", Rule::List(&STRINGS_1)),
        ("uri", Rule::Str),
        ("search", Rule::List(&STRINGS_1)),
        ("search_dns", Rule::Bool),
        ("keyid", Rule::Str),
        ("key", Rule::Str),
        ("keyserver", Rule::Str),
    ],
    required: &["arches"],
    closed: true,
    min_keys: 0,
};
static MIRRORS: ListRule = non_empty(Rule::Object(&MIRROR));
static APT_SOURCE: ObjectRule = ObjectRule {
    keys: &[
        ("source", Rule::Str),
        ("keyid", Rule::Str),
        ("key", Rule::Str),
        ("keyserver", Rule::Str),
        ("filename", Rule::Str),
        ("append", Rule::Bool),
    ],
    required: &[],
    closed: true,
    min_keys: 1,
};
static APT: ObjectRule = ObjectRule {
    keys: &[
        ("preserve_sources_list", Rule::Bool),
        ("generate_mirrorlists", Rule::Bool),
        ("disable_suites", Rule::List(&STRINGS_1)),
        ("primary", Rule::List(&MIRRORS)),
        ("security", Rule::List(&MIRRORS)),
        ("add_apt_repo_match", Rule::Str),
        ("debconf_selections", Rule::MapOf(&Rule::Str, 1)),
        ("sources_list", Rule::Str),
        ("conf", Rule::Str),
        ("https_proxy", Rule::Str),
        ("http_proxy", Rule::Str),
        ("proxy", Rule::Str),
        ("ftp_proxy", Rule::Str),
        ("sources", Rule::MapOf(&Rule::Object(&APT_SOURCE), 0)),
    ],
    required: &[],
    closed: true,
    min_keys: 1,
};

// --- time, names, SSH, storage, power ----------------------------------------

static NTP_CONFIG: ObjectRule = ObjectRule {
    keys: &[
        ("confpath", Rule::Str),
        ("check_exe", Rule::Str),
        ("packages", Rule::List(&STRINGS)),
        ("service_name", Rule::Str),
        ("template", Rule::Str),
    ],
    required: &[],
    closed: true,
    min_keys: 1,
};
static NTP: ObjectRule = closed(&[
    ("pools", Rule::List(&STRINGS)),
    ("servers", Rule::List(&STRINGS)),
    ("peers", Rule::List(&STRINGS)),
    ("allow", Rule::List(&STRINGS)),
    ("ntp_client", Rule::Str),
    ("enabled", Rule::Bool),
    ("config", Rule::Object(&NTP_CONFIG)),
]);
static KEY_TYPES: [Lit; 3] = [Lit::S("ecdsa"), Lit::S("ed25519"), Lit::S("rsa")];
static GENKEYTYPES: ListRule = non_empty(Rule::Enum(&KEY_TYPES));
static PUBLISH_HOSTKEYS: ObjectRule = closed(&[("enabled", Rule::Bool), ("blacklist", Rule::List(&STRINGS))]);
static MOUNT_ENTRY: ListRule = ListRule { item: Rule::Str, min: 1, max: Some(6) };
static MOUNTS: ListRule = non_empty(Rule::List(&MOUNT_ENTRY));
static MOUNT_DEFAULTS: ListRule = ListRule { item: Rule::OneOf(&[Rule::Str, Rule::Null]), min: 6, max: Some(6) };
static SWAP: ObjectRule = closed(&[
    ("filename", Rule::Str),
    ("size", Rule::OneOf(&[Rule::Enum(&[Lit::S("auto")]), Rule::Int, Rule::StrWhere(is_size, "a size like 2G")])),
    ("maxsize", Rule::OneOf(&[Rule::Int, Rule::StrWhere(is_size, "a size like 2G")])),
]);
static GROWPART: ObjectRule = closed(&[
    (
        "mode",
        Rule::OneOf(&[
            Rule::Enum(&[Lit::S("auto"), Lit::S("growpart"), Lit::S("gpart"), Lit::S("off")]),
            Rule::Enum(&[Lit::B(false)]),
        ]),
    ),
    ("devices", Rule::List(&STRINGS)),
    ("ignore_growroot_disabled", Rule::Bool),
]);
static POWER_STATE: ObjectRule = ObjectRule {
    keys: &[
        (
            "delay",
            Rule::OneOf(&[Rule::Int, Rule::StrWhere(is_delay, "minutes such as \"+5\""), Rule::Enum(&[Lit::S("now")])]),
        ),
        ("mode", Rule::Enum(&[Lit::S("poweroff"), Lit::S("reboot"), Lit::S("halt")])),
        ("message", Rule::Str),
        ("timeout", Rule::Int),
        ("condition", Rule::OneOf(&[Rule::Str, Rule::Bool, Rule::List(&ANY_LIST)])),
    ],
    required: &["mode"],
    closed: true,
    min_keys: 0,
};
static ANY_LIST: ListRule = list(Rule::Any);
static CA_CERTS: ObjectRule = ObjectRule {
    keys: &[("remove_defaults", Rule::Bool), ("remove-defaults", Rule::Bool), ("trusted", Rule::List(&STRINGS_1))],
    required: &[],
    closed: true,
    min_keys: 1,
};
/// `ssh_keys`: `(ecdsa|ed25519|rsa)_(public|private|certificate)`.
static SSH_KEYS: ObjectRule = closed(&[
    ("ecdsa_public", Rule::Str),
    ("ecdsa_private", Rule::Str),
    ("ecdsa_certificate", Rule::Str),
    ("ed25519_public", Rule::Str),
    ("ed25519_private", Rule::Str),
    ("ed25519_certificate", Rule::Str),
    ("rsa_public", Rule::Str),
    ("rsa_private", Rule::Str),
    ("rsa_certificate", Rule::Str),
]);
static KEYBOARD: ObjectRule = ObjectRule {
    keys: &[("layout", Rule::Str), ("model", Rule::Str), ("variant", Rule::Str), ("options", Rule::Str)],
    required: &["layout"],
    closed: true,
    min_keys: 0,
};
static RESOLV_CONF: ObjectRule = closed(&[
    ("nameservers", Rule::List(&ANY_LIST)),
    ("searchdomains", Rule::List(&ANY_LIST)),
    ("domain", Rule::Str),
    ("sortlist", Rule::List(&ANY_LIST)),
    ("options", Rule::MapOf(&Rule::Any, 0)),
]);
static CHPASSWD_USER: ObjectRule = ObjectRule {
    keys: &[
        ("name", Rule::Str),
        ("type", Rule::Enum(&[Lit::S("RANDOM"), Lit::S("hash"), Lit::S("text")])),
        ("password", Rule::Str),
    ],
    required: &["name"],
    closed: true,
    min_keys: 0,
};
static CHPASSWD_USERS: ListRule = list(Rule::Object(&CHPASSWD_USER));
static CHPASSWD: ObjectRule = closed(&[
    ("expire", Rule::Bool),
    ("users", Rule::List(&CHPASSWD_USERS)),
    ("list", Rule::OneOf(&[Rule::Str, Rule::List(&STRINGS)])),
]);

static BOOL_OR_STR: [Rule; 2] = [Rule::Bool, Rule::Str];

/// The top level: every key cloud-init 25.1's schema lists (its
/// `additionalProperties` is false), with a rule where this module checks
/// the value and `Any` where it does not.
static TOP_LEVEL: ObjectRule = ObjectRule {
    keys: &[
        ("allow_public_ssh_keys", Rule::Bool),
        ("ansible", Rule::Any),
        ("apk_repos", Rule::Any),
        ("apt", Rule::Object(&APT)),
        ("apt_pipelining", Rule::Any),
        ("apt_reboot_if_required", Rule::Bool),
        ("apt_update", Rule::Bool),
        ("apt_upgrade", Rule::Bool),
        ("authkey_hash", Rule::Str),
        ("autoinstall", Rule::Any),
        ("bootcmd", Rule::List(&BOOTCMD)),
        ("byobu_by_default", Rule::Any),
        ("ca-certs", Rule::Object(&CA_CERTS)),
        ("ca_certs", Rule::Object(&CA_CERTS)),
        ("chef", Rule::Any),
        ("chpasswd", Rule::Object(&CHPASSWD)),
        ("cloud_config_modules", Rule::Any),
        ("cloud_final_modules", Rule::Any),
        ("cloud_init_modules", Rule::Any),
        ("create_hostname_file", Rule::Bool),
        ("device_aliases", Rule::Any),
        ("disable_ec2_metadata", Rule::Bool),
        ("disable_root", Rule::Bool),
        ("disable_root_opts", Rule::Str),
        ("disk_setup", Rule::Any),
        ("drivers", Rule::Any),
        ("fan", Rule::Any),
        ("final_message", Rule::Str),
        ("fqdn", Rule::Str),
        ("fs_setup", Rule::Any),
        ("groups", Rule::OneOf(&[Rule::Str, GROUPS_BY_NAME_SHAPE, Rule::List(&GROUP_ITEMS)])),
        ("growpart", Rule::Object(&GROWPART)),
        ("grub-dpkg", Rule::Any),
        ("grub_dpkg", Rule::Any),
        ("hostname", Rule::Str),
        ("keyboard", Rule::Object(&KEYBOARD)),
        ("landscape", Rule::Any),
        ("launch-index", Rule::Int),
        ("locale", Rule::OneOf(&BOOL_OR_STR)),
        ("locale_configfile", Rule::Str),
        ("lxd", Rule::Any),
        (
            "manage_etc_hosts",
            Rule::OneOf(&[
                Rule::Enum(&[Lit::B(true), Lit::B(false), Lit::S("localhost")]),
                Rule::Enum(&[Lit::S("template")]),
            ]),
        ),
        ("manage_resolv_conf", Rule::Bool),
        ("mcollective", Rule::Any),
        ("merge_how", Rule::Any),
        ("merge_type", Rule::Any),
        ("migrate", Rule::Bool),
        ("mount_default_fields", Rule::List(&MOUNT_DEFAULTS)),
        ("mounts", Rule::List(&MOUNTS)),
        ("no_ssh_fingerprints", Rule::Bool),
        ("ntp", Rule::OneOf(&[Rule::Null, Rule::Object(&NTP)])),
        ("output", Rule::Any),
        ("package_reboot_if_required", Rule::Bool),
        ("package_update", Rule::Bool),
        ("package_upgrade", Rule::Bool),
        ("packages", Rule::List(&PACKAGES)),
        ("password", Rule::Str),
        ("phone_home", Rule::Any),
        ("power_state", Rule::Object(&POWER_STATE)),
        ("prefer_fqdn_over_hostname", Rule::Bool),
        ("preserve_hostname", Rule::Bool),
        ("puppet", Rule::Any),
        ("random_seed", Rule::Any),
        ("reporting", Rule::Any),
        ("resize_rootfs", Rule::Enum(&[Lit::B(true), Lit::B(false), Lit::S("noblock")])),
        ("resolv_conf", Rule::Object(&RESOLV_CONF)),
        ("rh_subscription", Rule::Any),
        ("rsyslog", Rule::Any),
        ("runcmd", Rule::List(&RUNCMD)),
        ("salt_minion", Rule::Any),
        ("snap", Rule::Any),
        ("spacewalk", Rule::Any),
        ("ssh", Rule::Any),
        ("ssh_authorized_keys", Rule::List(&STRINGS_1)),
        ("ssh_deletekeys", Rule::Bool),
        ("ssh_fp_console_blacklist", Rule::Any),
        ("ssh_genkeytypes", Rule::List(&GENKEYTYPES)),
        ("ssh_import_id", Rule::Any),
        ("ssh_key_console_blacklist", Rule::Any),
        ("ssh_keys", Rule::Object(&SSH_KEYS)),
        ("ssh_publish_hostkeys", Rule::Object(&PUBLISH_HOSTKEYS)),
        ("ssh_pwauth", Rule::OneOf(&BOOL_OR_STR)),
        ("ssh_quiet_keygen", Rule::Bool),
        ("swap", Rule::Object(&SWAP)),
        ("system_info", Rule::Any),
        ("timezone", Rule::Str),
        ("ubuntu_advantage", Rule::Any),
        ("ubuntu_pro", Rule::Any),
        ("updates", Rule::Any),
        ("user", Rule::OneOf(&[Rule::Str, Rule::Object(&USER)])),
        ("users", Rule::OneOf(&[Rule::Str, Rule::List(&USER_ITEMS), Rule::MapOf(&Rule::Any, 0)])),
        ("vendor_data", Rule::Any),
        ("version", Rule::Any),
        ("wireguard", Rule::Any),
        ("write_files", Rule::List(&WRITE_FILES)),
        ("yum_repo_dir", Rule::Any),
        ("yum_repos", Rule::Any),
        ("zypper", Rule::Any),
    ],
    required: &[],
    closed: true,
    min_keys: 0,
};

/// `^([0-9]+)?\.?[0-9]+[BKMGT]$`
fn is_size(text: &str) -> bool {
    let Some(number) = text.strip_suffix(['B', 'K', 'M', 'G', 'T']) else { return false };
    let (whole, fraction) = number.split_once('.').unwrap_or(("", number));
    whole.bytes().all(|b| b.is_ascii_digit()) && !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// `^\+?[0-9]+$`
fn is_delay(text: &str) -> bool {
    let digits = text.strip_prefix('+').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a cloud-config document against cloud-init 25.1's schema.
#[must_use]
pub fn check_document(document: &Mapping) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_object(&TOP_LEVEL, document, "", &mut problems);
    problems
}

fn child(path: &str, key: &str) -> String {
    let simple = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match (path.is_empty(), simple) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

fn at(path: &str) -> String {
    if path.is_empty() { "the document".into() } else { path.to_string() }
}

fn problem(problems: &mut Vec<Problem>, path: &str, message: String) {
    problems.push(Problem { path: at(path), message });
}

fn check(rule: &Rule, node: &Yaml, path: &str, problems: &mut Vec<Problem>) {
    let wrong = |problems: &mut Vec<Problem>| {
        let quote = matches!((rule, node), (Rule::Str, Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_) | Yaml::Null));
        let hint = if quote { " (quote it: YAML 1.1 reads 0644, yes and 1.10 as other types)" } else { "" };
        problem(problems, path, format!("must be {}, found {}{hint}", describe(rule), node.kind()));
    };
    match (rule, node) {
        (Rule::Any, _)
        | (Rule::Str, Yaml::Str(_))
        | (Rule::Bool, Yaml::Bool(_))
        | (Rule::Int, Yaml::Int(_))
        | (Rule::Null, Yaml::Null) => {}
        (Rule::Enum(options), _) => {
            if !options.iter().any(|o| lit_matches(o, node)) {
                problem(problems, path, format!("must be {}, found {}", describe(rule), scalar_text(node)));
            }
        }
        (Rule::StrWhere(ok, what), Yaml::Str(text)) => {
            if !ok(text) {
                problem(problems, path, format!("must be {what}, found {text:?}"));
            }
        }
        (Rule::List(list), Yaml::Seq(items)) => check_list(list, items, path, problems),
        (Rule::Object(object), Yaml::Map(map)) => check_object(object, map, path, problems),
        (Rule::MapOf(value, min), Yaml::Map(map)) => {
            if map.len() < *min {
                problem(problems, path, format!("must have at least {min} entries"));
            }
            for (key, item) in map {
                if key.is_empty() {
                    problem(problems, path, "has an empty key".into());
                }
                check(value, item, &child(path, key), problems);
            }
        }
        (Rule::OneOf(alternatives), _) => check_one_of(rule, alternatives, node, path, problems),
        _ => wrong(problems),
    }
}

fn check_list(list: &ListRule, items: &[Yaml], path: &str, problems: &mut Vec<Problem>) {
    if items.len() < list.min {
        let what = if list.min == 1 { "at least one item".to_string() } else { format!("at least {} items", list.min) };
        problem(problems, path, format!("must have {what} (found {})", items.len()));
    }
    if let Some(max) = list.max.filter(|max| items.len() > *max) {
        problem(problems, path, format!("must have at most {max} items (found {})", items.len()));
    }
    for (index, item) in items.iter().enumerate() {
        check(&list.item, item, &format!("{path}[{index}]"), problems);
    }
}

fn check_object(object: &ObjectRule, map: &Mapping, path: &str, problems: &mut Vec<Problem>) {
    for required in object.required {
        if !map.contains_key(*required) {
            problem(problems, path, format!("needs `{required}`"));
        }
    }
    if map.len() < object.min_keys {
        problem(problems, path, "must not be empty".into());
    }
    for (key, value) in map {
        match object.keys.iter().find(|(name, _)| name == key) {
            Some((_, rule)) => check(rule, value, &child(path, key), problems),
            None if object.closed => problem(problems, &child(path, key), unknown_key(object, key, path)),
            None => {}
        }
    }
}

fn unknown_key(object: &ObjectRule, key: &str, path: &str) -> String {
    let close = object.keys.iter().map(|(name, _)| *name).find(|name| similar(name, key));
    let hint = match close {
        Some(name) => format!("; did you mean `{name}`?"),
        None if object.keys.len() <= 12 => {
            let names: Vec<&str> = object.keys.iter().map(|(name, _)| *name).collect();
            format!("; {} takes {}", at(path), names.join(", "))
        }
        None => String::new(),
    };
    format!("unknown key `{key}`: cloud-init 25.1 does not know it{hint}")
}

/// One edit apart (a typo), case aside.
fn similar(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.to_lowercase().chars().collect(), b.to_lowercase().chars().collect());
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long.iter()).take_while(|(x, y)| x == y).count();
    let (short_rest, long_rest) = (short.get(prefix..).unwrap_or(&[]), long.get(prefix..).unwrap_or(&[]));
    if short.len() == long.len() {
        // One substitution, or two neighbours swapped.
        short_rest.get(1..) == long_rest.get(1..)
            || (short_rest.len() >= 2
                && short_rest.first() == long_rest.get(1)
                && short_rest.get(1) == long_rest.first()
                && short_rest.get(2..) == long_rest.get(2..))
    } else {
        short_rest == long_rest.get(1..).unwrap_or(&[])
    }
}

fn check_one_of(rule: &Rule, alternatives: &[Rule], node: &Yaml, path: &str, problems: &mut Vec<Problem>) {
    let results: Vec<Vec<Problem>> = alternatives
        .iter()
        .map(|alternative| {
            let mut found = Vec::new();
            check(alternative, node, path, &mut found);
            found
        })
        .collect();
    let matching = results.iter().filter(|r| r.is_empty()).count();
    if matching == 1 {
        return;
    }
    if matching > 1 {
        problem(problems, path, format!("matches more than one of: {}", describe(rule)));
        return;
    }
    // Report the alternative of the node's own kind, if one is: its
    // problems are the useful ones (a typo inside an object, not "must be
    // a string").
    let same_kind = alternatives.iter().zip(&results).find(|(alternative, _)| kind_matches(alternative, node));
    match same_kind {
        Some((_, found)) => problems.extend(found.iter().cloned()),
        None => problem(problems, path, format!("must be {}, found {}", describe(rule), node.kind())),
    }
}

fn kind_matches(rule: &Rule, node: &Yaml) -> bool {
    matches!(
        (rule, node),
        (Rule::List(_), Yaml::Seq(_))
            | (Rule::Object(_) | Rule::MapOf(..), Yaml::Map(_))
            | (Rule::StrWhere(..), Yaml::Str(_))
    )
}

fn lit_matches(lit: &Lit, node: &Yaml) -> bool {
    match (lit, node) {
        (Lit::S(s), Yaml::Str(text)) => s == text,
        (Lit::B(b), Yaml::Bool(value)) => b == value,
        _ => false,
    }
}

fn scalar_text(node: &Yaml) -> String {
    match node {
        Yaml::Str(s) => format!("{s:?}"),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Int(i) => i.to_string(),
        Yaml::Float(f) => f.to_string(),
        other => other.kind().to_string(),
    }
}

/// "a string", "a list of strings", "true, false or \"noblock\"", ...
fn describe(rule: &Rule) -> String {
    match rule {
        Rule::Any => "anything".into(),
        Rule::Str => "a string".into(),
        Rule::Bool => "a boolean".into(),
        Rule::Int => "an integer".into(),
        Rule::Null => "null".into(),
        Rule::Enum(options) => {
            let names: Vec<String> = options
                .iter()
                .map(|o| match o {
                    Lit::S(s) => format!("{s:?}"),
                    Lit::B(b) => b.to_string(),
                })
                .collect();
            format!("one of {}", names.join(", "))
        }
        Rule::StrWhere(_, what) => (*what).to_string(),
        Rule::List(list) => format!("a list of {}", plural(&list.item)),
        Rule::Object(_) | Rule::MapOf(..) => "a mapping".into(),
        Rule::OneOf(alternatives) => {
            let names: Vec<String> = alternatives.iter().map(describe).collect();
            names.join(" or ")
        }
    }
}

fn plural(rule: &Rule) -> String {
    match rule {
        Rule::Str => "strings".into(),
        Rule::Bool => "booleans".into(),
        Rule::Object(_) | Rule::MapOf(..) => "mappings".into(),
        Rule::List(_) => "lists".into(),
        other => format!("items that are {}", describe(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        let Some(Yaml::Map(map)) = crate::yaml::parse(text).expect("yaml") else { panic!("not a mapping") };
        check_document(&map)
    }

    #[test]
    fn a_typo_inside_write_files_names_its_path_and_the_right_key() {
        let found = problems("write_files:\n- path: /etc/x\n  contnt: hi\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "write_files[0].contnt");
        assert!(found[0].message.contains("did you mean `content`"), "{}", found[0].message);
    }

    #[test]
    fn unknown_top_level_keys_and_wrong_types_are_problems() {
        let found = problems("packges: [vim]\npackage_update: maybe\nruncmd: echo hi\n");
        let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["packges", "package_update", "runcmd"], "{found:?}");
        assert!(found[0].message.contains("did you mean `packages`"));
        assert_eq!(found[1].message, "must be a boolean, found a string");
        assert!(found[2].message.starts_with("must be a list of"), "{}", found[2].message);
    }

    #[test]
    fn yaml_1_1_scalars_are_typed_as_cloud_init_reads_them() {
        // `yes` is a boolean and `0644` the integer 420 for PyYAML.
        assert!(problems("package_update: yes\n").is_empty());
        let found = problems("write_files:\n- path: /x\n  permissions: 0644\n");
        assert_eq!(found[0].path, "write_files[0].permissions");
        assert!(found[0].message.starts_with("must be a string, found an integer (quote it"), "{}", found[0].message);
    }

    #[test]
    fn one_of_reports_the_alternative_of_the_same_kind() {
        let found = problems("users:\n- name: a\n  shel: /bin/bash\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "users[0].shel");
        assert!(found[0].message.contains("`shell`"));
        assert!(problems("users: [default, {name: b, sudo: false, uid: 1001}]\n").is_empty());
    }

    #[test]
    fn enums_patterns_required_and_bounds() {
        assert_eq!(
            problems("resize_rootfs: later\n")[0].message,
            "must be one of true, false, \"noblock\", found \"later\""
        );
        assert!(problems("swap: {size: 2G, maxsize: 4096}\n").is_empty());
        assert_eq!(problems("swap: {size: two}\n")[0].path, "swap.size");
        assert_eq!(problems("power_state: {delay: now}\n")[0].message, "needs `mode`");
        assert_eq!(problems("mounts: [[a, b, c, d, e, f, g]]\n")[0].message, "must have at most 6 items (found 7)");
        assert_eq!(problems("write_files: []\n")[0].message, "must have at least one item (found 0)");
        assert!(problems("apt:\n  sources:\n    k8s.list: {source: 'deb x y z'}\n").is_empty());
        assert_eq!(problems("apt:\n  sources:\n    k8s.list: {sourc: x}\n")[0].path, "apt.sources[\"k8s.list\"].sourc");
    }

    #[test]
    fn modules_without_rules_accept_any_value() {
        assert!(problems("chef: {anything: [1, 2]}\npuppet: 3\n").is_empty());
    }

    #[test]
    fn typos_are_one_edit_apart() {
        assert!(similar("content", "contnt"));
        assert!(similar("packages", "pakcages"));
        assert!(similar("runcmd", "runcmds"));
        assert!(!similar("runcmd", "bootcmd"));
    }
}
