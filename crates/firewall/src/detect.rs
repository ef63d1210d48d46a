//! Pattern detectors used by the managed rules. Each works on one normalised (decoded,
//! lowercased) value and is built once: regex sets and Aho-Corasick automata over keyword
//! classes (commands, sensitive files, Java classes, PHP functions...), never over single
//! known payloads.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexSet};

/// Patterns run over bytes with ASCII-only classes and word boundaries (`(?-u)`): inputs are
/// lowercased bytes, possibly not UTF-8, and ASCII `\b` keeps the fast DFA engines usable.
fn set(patterns: &[&str]) -> Option<RegexSet> {
    RegexSet::new(patterns.iter().map(|p| format!("(?-u){p}"))).ok()
}

fn re(pattern: &str) -> Option<Regex> {
    Regex::new(&format!("(?-u){pattern}")).ok()
}

fn ac(words: &[&str]) -> Option<AhoCorasick> {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostFirst)
        .build(words)
        .ok()
}

fn any(s: &Option<RegexSet>, v: &[u8]) -> bool {
    s.as_ref().is_some_and(|s| s.is_match(v))
}

/// Path traversal: `../` in any slash direction, once separators are unified.
static TRAVERSAL: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        // a value that starts by climbing, or climbs twice, or climbs to the end
        r"^\s*(?:file:/*)?\.{2,}[/\\;]",
        r"\.{2,}[/\\;]+(?:[^/\\\s]{0,3}[/\\;]+)?\.{2,}(?:[/\\;]|$)",
        r"[/\\]\.{2,}(?:$|[;?#&\s\x00])",
        r"(?:^|[/\\=:;,|'\x22\s(])\.{2,}[/\\;]+(?:etc|windows|winnt|boot|proc|usr|var|bin|sbin|root|home|tmp|dev|sys|system32|inetpub|web-inf|meta-inf|wp-config|\.env|\.git|\.ssh|\.htaccess|\.htpasswd)\b",
        r"\.\.(?:%2f|%5c|\?|\*)",
        // dot-dot segments whose dots or separators are written in some odd or broken
        // encoding (hex literals, overlong or invalid UTF-8, stray escapes), repeated or
        // leading to a system directory
        r"(?-u:(?:^|[^a-z0-9])(?:\.|0x2e|\?){2}(?:[^a-z0-9.\s]|%[0-9a-z]{2}|0x[0-9a-f]{2}){1,8}(?:(?:\.|0x2e|\?){2}(?:[^a-z0-9.\s]|%[0-9a-z]{2}|0x[0-9a-f]{2}){1,8}|etc|windows|winnt|boot\.ini|win\.ini|system32|proc|usr|var|home|root|bin|inetpub))",
    ])
});

/// Sensitive files on Unix-like systems.
static UNIX_FILES: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"(?:^|[^a-z0-9])etc[/\\]+(?:passwd|shadow|group|hosts|hostname|issue|motd|crontab|sudoers|fstab|mtab|profile|bashrc|resolv\.conf|ssh[/\\]|apache2?[/\\]|httpd[/\\]|nginx[/\\]|mysql[/\\]|php[0-9.]*[/\\]|security[/\\]|network[/\\]|init\.d|rc\.d|master\.passwd|gshadow|inittab|apt[/\\]|redhat-release|debian_version|lsb-release|os-release|login\.defs|pam\.d|xinetd|ld\.so|environment|exports|ftpusers|vsftpd|samba|snmp|aliases|my\.cnf|passwd-|shadow-|\w+\.conf\b)",
        r"(?:^|[^a-z0-9])proc[/\\]+(?:self|\d+|version|cmdline|environ|mounts|net[/\\]|cpuinfo|meminfo|sched_debug|partitions|stat\b|status|fd[/\\]|kcore|modules)",
        r"(?:^|[/\\])(?:var[/\\]+(?:log|mail|spool|www|lib[/\\]+mysql|run)|usr[/\\]+local[/\\]+(?:etc|apache|bin|lib)|root[/\\]|home[/\\]+\w+[/\\]+\.|dev[/\\]+(?:tcp|udp|null|zero|random|stdin|fd)|sys[/\\]+(?:class|kernel|devices)|boot[/\\]+grub|opt[/\\]+\w+[/\\]+(?:conf|etc))",
        r"(?:^|[/\\])\.(?:bash_history|bash_profile|bash_logout|bashrc|zshrc|profile|ssh[/\\]|ssh$|htpasswd|htaccess|git[/\\]|svn[/\\]|aws[/\\]|docker[/\\]|kube[/\\]|mysql_history|psql_history|viminfo|netrc|pgpass|gnupg|npmrc|env\b)",
        r"(?:^|[/\\])(?:id_rsa|id_dsa|id_ecdsa|id_ed25519|authorized_keys|known_hosts)(?:$|[^a-z])",
        r"(?:^|[/\\])(?:wp-config\.php|localsettings\.php|configuration\.php|config\.inc\.php|database\.yml)(?:$|[^a-z])",
        r"(?:^|[/\\])web-inf[/\\]|(?:^|[/\\])meta-inf[/\\]",
        // system paths whose separators are written in some odd or broken encoding
        r"(?-u:etc(?:[^a-z0-9\s]|%[0-9a-z]{2}|0x[0-9a-f]{2}){1,8}(?:passwd|shadow|issue|hosts|group|motd|crontab|sudoers|fstab|hostname|resolv))",
        r"(?-u:proc(?:[^a-z0-9\s]|%[0-9a-z]{2}|0x[0-9a-f]{2}){1,8}(?:self|version|cmdline|environ)(?:[^a-z0-9]|$))",
    ])
});

/// Sensitive files on Windows.
static WIN_FILES: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"(?:^|[^a-z0-9])(?:boot|win|system|php|desktop|autoexec|config)\.(?:ini|sys|bat)(?:$|[^a-z0-9])|(?:boot|win|system)\.ini(?:$|[^a-z0-9])",
        r"(?-u:(?:windows|winnt)(?:[^a-z0-9\s]|%[0-9a-z]{2}|0x[0-9a-f]{2}){1,8}(?:system32|system\.ini|win\.ini|repair)|system32(?:[^a-z0-9\s]|%[0-9a-z]{2}|0x[0-9a-f]{2}){1,8}(?:drivers|config|cmd\.exe|inetsrv))",
        r"(?:^|[/\\:])(?:windows|winnt|system32|syswow64|inetpub|program files)[/\\]",
        r"(?:^|[^a-z])[a-z]:[/\\]+(?:windows|winnt|inetpub|boot|users|documents|program|xampp|wamp|apache|php|mysql|system)",
        r"(?:^|[/\\])(?:web\.config|global\.asa|applicationhost\.config|machine\.config|sam|ntuser\.dat|pagefile\.sys|hiberfil\.sys)(?:$|[^a-z])",
        r"(?:^|[/\\])(?:repair|system32[/\\]+config)[/\\]+(?:sam|system|software|security)",
        r"\\\\(?:[a-z0-9.-]+)\\[a-z$]",
    ])
});

/// Separators written as hex literals (`0x2f`, `0x5c`) turned back into slashes.
fn hex_separators(v: &[u8]) -> Option<Vec<u8>> {
    if !(contains(v, b"0x2f") || contains(v, b"0x5c")) {
        return None;
    }
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        match v.get(i..i + 4) {
            Some(b"0x2f") => {
                out.push(b'/');
                i += 4;
            }
            Some(b"0x5c") => {
                out.push(b'\\');
                i += 4;
            }
            _ => {
                out.push(v.get(i).copied().unwrap_or(0));
                i += 1;
            }
        }
    }
    Some(out)
}

fn path_check(set: &Option<RegexSet>, v: &[u8]) -> bool {
    any(set, v) || hex_separators(v).is_some_and(|h| any(set, &h))
}

/// Path traversal anywhere in the value.
pub fn traversal(v: &[u8]) -> bool {
    // every pattern needs two dots (plain, hex or as `?`)
    (contains(v, b"..") || contains(v, b"0x2e") || v.contains(&b'?')) && path_check(&TRAVERSAL, v)
}

/// A path or file name that an LFI probes for on Unix-like systems.
pub fn unix_file(v: &[u8]) -> bool {
    // every pattern needs a separator, or `etc` / `proc` with an encoded one, or starts the
    // value with the file name
    let likely = v.contains(&b'/')
        || v.contains(&b'\\')
        || contains(v, b"etc")
        || contains(v, b"proc")
        || contains(v, b"0x")
        || v.first() == Some(&b'.')
        || [
            &b"id_"[..],
            b"authorized_keys",
            b"known_hosts",
            b"wp-config",
            b"localsettings",
            b"configuration",
            b"config.inc",
            b"database.yml",
            b"web-inf",
            b"meta-inf",
        ]
        .iter()
        .any(|p| v.starts_with(p));
    likely && path_check(&UNIX_FILES, v)
}

/// A path or file name that an LFI probes for on Windows.
pub fn windows_file(v: &[u8]) -> bool {
    path_check(&WIN_FILES, v)
}

/// Generic LFI: traversal, or a sensitive system file, or a `file:` URL.
pub fn lfi(v: &[u8]) -> bool {
    let check =
        |v: &[u8]| traversal(v) || unix_file(v) || windows_file(v) || contains(v, b"file:/");
    check(v) || (contains(v, b"${") && shell_deobfuscate(v).is_some_and(|d| check(&d)))
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    !n.is_empty() && memchr::memmem::find(h, n).is_some()
}

static RFI: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        // a URL with a literal IP host (the AWS description of GenericRFI)
        r"(?:^|[^a-z])(?:https?|ftps?|ftp|smb|ssh|telnet|tftp|sftp|gopher|dict|ldaps?|rtsp|jar|netdoc)://(?:[^/@\s]*@)?(?:\d{1,3}\.){3}\d{1,3}",
        r"(?:^|[^a-z])(?:https?|ftps?)://(?:[^/@\s]*@)?(?:0x[0-9a-f]{1,8}|\d{8,10}|0[0-7]{3,}|\[[0-9a-f:.]+\])(?:[:/?#]|$)",
        // stream wrappers an include is abused with
        r"(?:^|[^a-z])(?:php|zip|phar|expect|glob|data|zlib|compress\.zlib|compress\.bzip2|rar|ogg|ssh2(?:\.[a-z]+)?|input)://",
        r"(?:^|[^a-z])(?:gopher|dict|tftp|ldap|jar|netdoc|file)://|^\s*data:[a-z-]+/[a-z0-9.+-]+\s*[;,]",
        // a remote script pulled in by an include-like parameter
        r"^(?:https?|ftps?)://[^?\s]+\.(?:php\d?|phtml|txt|inc|jsp|asp|aspx|cgi|pl|sh|py)\?",
        r"^(?:https?|ftps?)://[^\s]+\?+$",
        r"^(?:https?|ftps?)://[^?\s]*(?:shell|c99|r57|evil|backdoor|cmd|exploit)[^/\s]*\.(?:txt|php|gif|jpg|png)",
    ])
});

/// Remote file inclusion.
pub fn rfi(v: &[u8]) -> bool {
    (contains(v, b"://") || contains(v, b"data:")) && any(&RFI, v)
}

static SSRF_META: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"169\.254\.169\.254|169\.254\.170\.2(?:$|[^0-9])|fd00:ec2::254",
        r"(?:^|[^0-9])(?:2852039166|0xa9fea9fe|0xa9\.0xfe\.0xa9\.0xfe|0251\.0376\.0251\.0376|0251\.0376\.0124776|425\.510\.425\.510)(?:$|[^0-9])",
        r"::ffff:a9fe:a9fe|::ffff:169\.254\.169\.254|\[::a9fe:a9fe\]",
        r"metadata\.google\.internal|metadata\.azure\.com|metadata\.packet\.net|100\.100\.100\.200|/latest/meta-data|/computemetadata/v1|/metadata/instance",
        r"instance-data(?:$|[/.:])",
    ])
});

/// Requests for a cloud instance metadata service.
pub fn ec2_metadata(v: &[u8]) -> bool {
    any(&SSRF_META, v)
}

static SSRF_LOCAL: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"(?:^|[^a-z])(?:https?|ftp|gopher|dict|ldap|tftp|file)://(?:[^/@\s]*@)?(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|0+(?:[:/]|$)|\[?::1?\]?|\[::ffff:7f|2130706433|0x7f[0-9a-f.]*|017700000001|0177\.|10\.\d+\.\d+\.\d+|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|[^/\s]*\.(?:internal|local|localtest\.me|nip\.io|xip\.io|burpcollaborator\.net|oastify\.com|interact\.sh))",
        r"^(?:[a-z]+://)?(?:[^/@\s]*@)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0|ip6-localhost|ip6-loopback|ipv6-localhost|host\.docker\.internal|host\.containers\.internal|gateway\.docker\.internal|kubernetes\.default(?:\.svc)?|(?:[a-z0-9-]+\.)*localtest\.me|(?:[a-z0-9-]+\.)*(?:lvh\.me|nip\.io|sslip\.io))(?::\d+)?/",
    ])
});

/// Server-side request forgery towards loopback / private / rebinding hosts.
pub fn ssrf_local(v: &[u8]) -> bool {
    v.contains(&b'/') && any(&SSRF_LOCAL, v)
}

static RESTRICTED_EXT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"\.(?:log|ini|bak|backup|bkp|old|orig|original|save|sav|swp|swo|tmp|temp|cfg|conf|config|cnf|inc|sql|sqlite|db|mdb|dbf|dat|env|htaccess|htpasswd|git|svn|hg|ds_store|pem|key|crt|p12|pfx|jks|keystore|passwd|pwd|lock|dist|~|copy)(?:$|[?;#/])|~$|\.(?:php\d?|phtml|phar|asp|aspx|jsp|cgi|pl|exe|sh)\.[a-z0-9]{2,4}$",
    )
});

/// A system / backup file extension at the end of a path.
pub fn restricted_extension(v: &[u8]) -> bool {
    RESTRICTED_EXT.as_ref().is_some_and(|r| r.is_match(v))
}

static BAD_BOTS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    ac(&[
        "nessus",
        "nmap",
        "nikto",
        "sqlmap",
        "masscan",
        "zgrab",
        "dirbuster",
        "gobuster",
        "wpscan",
        "acunetix",
        "w3af",
        "havij",
        "netsparker",
        "openvas",
        "zmeu",
        "jbrofuzz",
        "whatweb",
        "arachni",
        "skipfish",
        "webinspect",
        "appscan",
        "nuclei",
        "fimap",
        "morfeus",
        "dirb/",
        "ffuf",
        "wfuzz",
        "feroxbuster",
        "paros",
        "webshag",
        "grabber",
        "bsqlbf",
        "brutus",
        "hydra",
        "medusa",
        "nsauditor",
        "sf/",
        "pangolin",
        "commix",
        "xsser",
        "zap/",
        "burpcollaborator",
        "metasploit",
        "struts-pwn",
        "jorgee",
        "muieblackcat",
        "floodgate",
        "blackwidow",
        "httrack",
        "dotdotpwn",
        "openvas",
        "qualys",
        "netcraft",
        "censys",
        "shodan",
        "internet-measurement",
        "l9explore",
        "l9tcpid",
        "masscan-ng",
    ])
});

/// A scanner's or attack tool's `User-Agent`.
pub fn bad_bot(ua: &[u8]) -> bool {
    let lower = ua.to_ascii_lowercase();
    BAD_BOTS.as_ref().is_some_and(|a| a.is_match(&lower))
}

static JAVA: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        // serialized Java objects: raw, hex, Base64, gzip+Base64
        r"\xac\xed\x00\x05|aced0005|ro0ab|h4sia",
        // classes that deserialisation gadgets and expression injections reach for
        r"java\s*\.\s*(?:lang|io|net|nio|util|beans|rmi|security|sql|awt|applet)\s*\.\s*[a-z]|java\s*\.\s*runtime|\borg\.omg\.|\bcom\.opensymphony\.|\bcom\.sun\.",
        r"javax\s*\.\s*(?:script|naming|management|el|xml\s*\.\s*transform|crypto)",
        r"(?:org\.apache\.(?:commons\.(?:collections|beanutils|fileupload|io)|xalan|xbean|myfaces|wicket|struts|tomcat|catalina|naming|shiro|log4j|click|openjpa|batik|velocity|bcel)|org\.springframework|org\.codehaus\.groovy|org\.hibernate|org\.jboss|org\.mozilla\.javascript|com\.sun\.(?:org\.apache|rowset|jndi|xml|syndication)|com\.mchange|com\.rometools|sun\.misc|sun\.reflect|sun\.rmi|bsh\.interpreter|groovy\.lang|clojure\.|ognl\.|net\.sf\.json|com\.alibaba\.fastjson|com\.fasterxml\.jackson|weblogic\.|coldfusion\.|org\.python\.core|javassist)",
        // expression language / OGNL / SpEL gadgets
        r"#_memberaccess|@ognl|ognlcontext|\(#context|#request\.|#application\[|@java\.|\.getruntime\s*\(|\.exec\s*\(\s*['\x22]|new\s+java\.|t\s*\(\s*java\.|\.forname\s*\(|getclassloader|\.getclass\s*\(|class\s*\.\s*module\s*\.\s*classloader|\.newinstance\s*\(|\.getmethod\s*\(|\.invoke\s*\(|processbuilder|scriptengine(?:manager)?|\.getdeclaredmethod|defineclass|\.class\s*\.\s*forname",
        r"\$\{\s*(?:script|@|#|t\(|new |\(#|java|runtime|facescontext|request\.|session\.|application\.|pagecontext|header\[|param\.|cookie\[|initparam)",
        r"%\{\s*[#(@]|#\{\s*(?:t\(|''\.|\x22\x22\.|new |request|session|facescontext)",
        r"<java[\s>]|<object\s+class=['\x22]java|<void\s+(?:method|class|property)=|<class>java|java\.beans\.xmldecoder",
    ])
});

static UPLOAD_SCRIPT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"\.(?:php\d?|phtml|pht|phar|phps|phpt|jsp|jspx|jspf|asp|aspx|asa|asax|ascx|ashx|asmx|cer|cgi|pl|sh|py|war|htaccess)[\s.]*$",
    )
});

/// An upload file name with a server-side script extension (trailing dots and spaces that
/// Windows drops are ignored).
pub fn script_file_name(v: &[u8]) -> bool {
    UPLOAD_SCRIPT.as_ref().is_some_and(|r| r.is_match(v))
}

/// Java deserialisation gadgets, Java class references, OGNL / EL / SpEL injections.
pub fn java(v: &[u8]) -> bool {
    any(&JAVA, v)
}

static LOG4J_STRIP: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"\$\{(?:[a-z]*:)*(?:-|[a-z_]*:-)?|\}|\s+"));

/// Log4Shell lookups (`${jndi:...}` and their nested-lookup obfuscations).
pub fn log4j(v: &[u8]) -> bool {
    let unescaped: Vec<u8>;
    let v = if v.contains(&b'\\') {
        unescaped = v.iter().copied().filter(|&b| b != b'\\').collect();
        &unescaped[..]
    } else {
        v
    };
    if !contains(v, b"${") {
        return false;
    }
    let Some(re) = LOG4J_STRIP.as_ref() else {
        return false;
    };
    if contains(v, b"${jndi:") {
        return true;
    }
    let stripped = re.replace_all(v, &b""[..]);
    let s = stripped.as_ref();
    for w in [
        &b"jndi:"[..],
        b"jndi",
        b"ldap://",
        b"rmi://",
        b"dns://",
        b"ldaps://",
        b"iiop://",
        b"corba://",
        b"nds://",
        b"nis://",
    ] {
        if contains(s, w) && contains(v, b"${") {
            return true;
        }
    }
    // Information-leaking lookups.
    let lookups = [
        &b"${env:"[..],
        b"${sys:",
        b"${java:",
        b"${ctx:",
        b"${main:",
        b"${base64:",
        b"${bundle:",
        b"${spring:",
        b"${k8s:",
        b"${docker:",
        b"${lower:",
        b"${upper:",
        b"${date:",
        b"${web:",
        b"${log4j:",
        b"${marker:",
        b"${sd:",
        b"${map:",
        b"${event:",
        b"${::-",
    ];
    lookups.iter().any(|l| contains(v, l))
}

static UNIX_CMD: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    // Commands whose names are also ordinary words need a command-like argument; the rest
    // count with any argument.
    let words = "cat|ls|dir|id|pwd|echo|printf|rm|touch|host|ip|ss|ps|kill|cp|mv|find|head|tail|more|less|sort|uniq|cut|tr|rev|test|true|false|which|file|stat|seq|yes|set|export|exec|eval|time|timeout|at|batch|jobs|read|wait|top|free|df|du|mount|make|last|w|who|history|wc|od|tar|zip|unzip|link|ln|expr|env|su|sh|dig|fetch|lynx|links|init|halt|apt|pip|npm|git|vi|locate|whereis|service|dd|tee|strings|java|node|lua|ruby|php|groups|python|sleep|cc|ftp";
    let cmds = "tac|whoami|uname|wget|curl|nc|ncat|netcat|bash|zsh|ksh|csh|tcsh|dash|python[0-9.]+|perl|php[0-9]|ping|chmod|chown|nslookup|ifconfig|netstat|killall|pkill|egrep|grep|awk|gawk|sed|tftp|telnet|base64|xterm|nohup|crontab|useradd|usermod|sudo|mkfifo|socat|busybox|passwd|uptime|hostname|xxd|hexdump|gzip|gunzip|openssl|ssh|scp|systemctl|lsof|mknod|xargs|nmap|tcpdump|disown|getent|lsb_release|shutdown|reboot|gcc|apt-get|yum|dnf|svn|vim|nano|bzip2|readlink|realpath|basename|dirname|chattr|lsattr|iptables|modprobe|insmod|dmesg|journalctl|sysctl|ansible|ansible-[a-z]+|chef|chef-[a-z]+|puppet|bsdtar|lastlog|rmt|rmt-tar|aptitude|rsync|screen|tmux|strace|gdb|docker|kubectl";
    // What follows a command name for it to read as a command line: the end, a shell
    // metacharacter, an option, a path, a variable, a quote, an address or a file name.
    let arg = r"(?:$|\s*[;|&<>`)]|\s+(?:-{1,2}[a-z0-9]|/|~|\$|\.{1,2}/|['\x22]|[a-z0-9_.-]+\s*(?:$|[;|&<>`])|[a-z0-9_.-]+\s+-{1,2}[a-z]|[a-z0-9_-]+\.[a-z0-9]{1,4}(?:$|[\s/;|&])|\d+\.\d+\.\d+\.\d+|[a-z]+://|[a-z0-9.-]+\.(?:com|net|org|io|ru|cn|xyz|sh|me)\b))";
    let strong = r"(?:$|\s*$|\s*\\n|\s*[;|&<>`)]|\s+(?:-{1,2}[a-z0-9]|/|~|\$|\.{1,2}/|['\x22]|[a-z]+://|\d+\.\d+\.\d+\.\d+))";
    let sep = r"(?:[;|`\n\r]|\\n|\|\||&&|&|\$\(|\$\{)\s*(?:\{\s*)?(?:/(?:usr/)?(?:local/)?s?bin/)?";
    let p1 = format!(r"{sep}(?:{cmds}){arg}");
    let p1b = format!(r"{sep}(?:{words}){strong}");
    let p2 = format!(
        r"^\s*(?:/(?:usr/)?(?:local/)?s?bin/)?(?:{cmds}|{words})\s+(?:-{{1,2}}[a-z0-9]|/|~/|\$|\.{{1,2}}/|['\x22][^'\x22]*['\x22]\s*[;|&<>]|[a-z0-9_.-]+\s*[;|&<>`])"
    );
    let p3 = format!(
        r"`\s*(?:/(?:usr/)?s?bin/)?(?:{cmds}|{words})\b[^`]*`|\$\(\s*(?:/(?:usr/)?s?bin/)?(?:{cmds}|{words})\b"
    );
    set(&[
        p1.as_str(),
        p1b.as_str(),
        p2.as_str(),
        p3.as_str(),
        // absolute paths of shells and tools, device files used for reverse shells
        r"/(?:usr/)?(?:local/)?s?bin/(?:[a-z0-9_-]+)(?:$|[\s;|&<>`'\x22)])|/dev/(?:tcp|udp)/",
        // shell variables used to smuggle spaces and paths
        r"\$\{?ifs\}?|\$\{?(?:path|home|shell|user|pwd|hostname|ps1|random|uid|euid|bash_version)\b\}?|\$\{[a-z_]+(?::[-=?+]|[#%/^,~])|\$\{?[@*]\}?[a-z/]",
        // globbed paths (`/???/c?t`) and brace expansion (`{cat,/etc/passwd}`)
        r"/(?:[a-z?*\[\]]*[?*\[][a-z?*\[\]]*)/(?:[a-z?*\[\]]*[?*\[][a-z?*\[\]]*)|\{\s*,?\s*[a-z/.]+\s*,\s*[-a-z/.]+|/(?:etc|s?bin|usr|proc|dev|tmp|var|home|root)/[^/\s?]*[*\[]|/\[[a-z/.\-]+\][a-z]",
        // arithmetic expansion, here-strings, process substitution, aliases
        r"\$\(\(|<<<\s*[$'\x22]|(?:^|[\s;|&])[<>]\(\s*[a-z/]|(?:^|[;|&]\s*)alias\s+(?:\S+\s+)?[a-z_.-]+=|\b(?:ba|z|k|da|c|tc)?sh[\s,]+-c[\s,]|(?:^|[;|&\s])\$0(?:$|[\s<;|&])",
        // shellshock
        r"^\s*\(\s*\)\s*\{",
        // redirections to files or sockets
        r"(?:^|[\s;|&])(?:>>?|<)\s*/(?:etc|tmp|dev|var|proc)/|\d?>&\s*\d|\|\s*(?:ba)?sh\b",
    ])
});

static SHELL_NOISE: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r#"\$\{?ifs\}?|\$\{[a-z_]{0,3}\}|\$[a-z_]\b|\$[@*]|[\\'"`^]|\+"#));

/// The value with shell quoting, escapes, empty variables and `+` separators removed
/// (`c\a't' $u/etc$u/pas""swd` reads `cat /etc/passwd`), if that changes anything.
pub fn shell_deobfuscate(v: &[u8]) -> Option<Vec<u8>> {
    let re = SHELL_NOISE.as_ref()?;
    if !re.is_match(v) {
        return None;
    }
    let out = re.replace_all(v, |c: &regex::bytes::Captures<'_>| {
        let m = c.get(0).map(|m| m.as_bytes()).unwrap_or(b"");
        if m == b"+" || m.starts_with(b"$ifs") || m.starts_with(b"${ifs") {
            b" ".to_vec()
        } else {
            Vec::new()
        }
    });
    Some(out.into_owned())
}

/// Unix shell command injection.
pub fn unix_shell(v: &[u8]) -> bool {
    any(&UNIX_CMD, v) || shell_deobfuscate(v).is_some_and(|d| any(&UNIX_CMD, &d) || unix_file(&d))
}

static WIN_CMD: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    // Commands whose names are also ordinary English words need a command-like argument.
    let words = r"dir|type|copy|del|erase|reg|ver|echo|set|start|sort|find|more|move|md|cd|rd|at|format|query|ren|rename|route|comp|fc|mode|label|path|title|color|time|date|call|exit|shift|pause|print|tree|replace|expand|help|assoc|vol";
    let cmds = r"cmd|cmd\.exe|command\.com|powershell|pwsh|net|net1|ipconfig|systeminfo|whoami|xcopy|tasklist|taskkill|certutil|bitsadmin|regedit|wmic|regsvr32|rundll32|mshta|cscript|wscript|ping|nslookup|findstr|schtasks|sc|netstat|tracert|icacls|cacls|attrib|msiexec|msbuild|installutil|vssadmin|wevtutil|bcdedit|netsh|arp|hostname|quser|qwinsta|runas|shutdown|mkdir|rmdir|chdir|timeout|curl|wget|ftp|tftp|telnet|calc|notepad|explorer|nc|ncat|certreq|forfiles|pcalua|cmstp|odbcconf|wmiprvse|mklink|cipher|diskpart|takeown|gpresult|nbtstat|nltest|dsquery|cmdkey|klist|setx|reg\.exe";
    let arg = r"(?:$|\s*[;|&<>^]|\s+(?:/[a-z?]|-[a-z]|[a-z]:\\|\\\\|%[a-z]+%|['\x22]|[a-z0-9_-]+\.[a-z0-9]{1,4}(?:$|[\s;|&])|[a-z0-9_.-]+\s*(?:$|[;|&<>^])|\d+\.\d+\.\d+\.\d+))";
    let strong =
        r"(?:$|\s*[;|&<>^]|\s+(?:/[a-z?]\b|-[a-z]\b|[a-z]:\\|\\\\|%[a-z]+%|\d+\.\d+\.\d+\.\d+))";
    let sep = r"(?:[;|&`\n\r]|\|\||&&|%0a)\s*(?:@|\^)?\s*(?:(?:[a-z]:)?\\(?:windows\\)?(?:system32\\|syswow64\\)?)?";
    let p1 = format!(r"{sep}(?:{cmds})(?:\.exe)?{arg}");
    let p1b = format!(r"{sep}(?:{words})(?:\.exe)?{strong}");
    let p2 = format!(
        r"^\s*(?:(?:[a-z]:)?\\(?:windows\\)?(?:system32\\)?)?(?:{cmds}|{words})(?:\.exe)?\s+(?:/[a-z?]\b|-[a-z]\b|[a-z]:\\|\\\\|%[a-z]+%|[a-z0-9_.-]+\s*[&|<>])"
    );
    set(&[
        p1.as_str(),
        p1b.as_str(),
        p2.as_str(),
        r"%(?:windir|systemroot|comspec|temp|tmp|appdata|userprofile|programfiles|systemdrive|homepath|homedrive|allusersprofile|public|computername|username|path|cd|random|date|time|errorlevel)%",
        r"(?:cmd(?:\.exe)?|command\.com)\s*/[ckq]\b|\bcmd\s*/\s*[ckq]\b",
        r"[a-z]:\\(?:windows|winnt)\\(?:system32|syswow64)\\[a-z0-9]+\.(?:exe|com|bat|cmd|dll|vbs|ps1)",
        r"\b(?:net|net1)\s+(?:user|localgroup|group|share|use|view|session|accounts|start|stop)\b",
        r"\b(?:reg)\s+(?:query|add|delete|save|export)\s+(?:hk|\\\\)|\bwmic\s+[a-z]+\s+(?:get|list|call|where)|\bcertutil\s+-(?:urlcache|decode|encode)",
        r"\^[a-z]\^[a-z]|[a-z]\^[a-z]\^[a-z]",
        // batch control structures
        r"\bfor\s+/[fdrl]\b|\bfor\s+%%?\S+\s+in\s*\(|\bif\s+(?:/i\s+)?(?:not\s+)?\S+\s*==\s*\S|\bif\s+(?:/i\s+)?(?:not\s+)?(?:exist|defined|errorlevel|cmdextversion)\s|\bif\s+(?:not\s+)?\S+\s+(?:equ|neq|lss|leq|gtr|geq)\s|\bif\s+['\x22%].*==|%%[a-z]\b|%~[dpnxfsatz]*[0-9]",
    ])
});

/// Windows command shell injection.
pub fn windows_shell(v: &[u8]) -> bool {
    any(&WIN_CMD, v)
}

static POWERSHELL: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"\b(?:powershell|pwsh)(?:\.exe)?\b",
        r"\b(?:invoke-(?:expression|webrequest|restmethod|command|item|wmimethod|mimikatz|shellcode)|iex\s*[(\x22'$]|iwr\s+|irm\s+|new-object\s+|start-process|get-content|set-content|add-content|get-childitem|get-process|get-service|get-wmiobject|get-ciminstance|set-executionpolicy|set-mppreference|add-mppreference|out-file|new-item|remove-item|copy-item|convertto-securestring|get-acl|get-itemproperty|test-connection|start-bitstransfer|get-credential|import-module|add-type)\b",
        r"(?:net\.webclient|downloadstring|downloadfile|downloaddata|frombase64string|system\.net\.sockets|system\.reflection\.assembly|\[system\.[a-z.]+\]::|\[convert\]::|\[text\.encoding\]::|\[io\.file\]::|\[scriptblock\]::)",
        r"(?:^|\s)-(?:encodedcommand|enc|ec|e|noprofile|nop|noninteractive|noni|executionpolicy|ep|windowstyle|w)\s+(?:bypass|hidden|unrestricted|[a-z0-9+/=]{16,})",
        r"\$(?:env:|psversiontable|executioncontext|host\.|pshome)",
    ])
});

/// PowerShell commands.
pub fn powershell(v: &[u8]) -> bool {
    any(&POWERSHELL, v)
}

static PHP: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"(?:^|[^a-z0-9_])(?:shell_exec|passthru|popen|proc_open|pcntl_exec|create_function|call_user_func(?:_array)?|file_get_contents|file_put_contents|phpinfo|unserialize|highlight_file|show_source|php_uname|move_uploaded_file|curl_exec|fsockopen|pfsockopen|stream_socket_client|base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|convert_uu|hex2bin|register_shutdown_function|register_tick_function|posix_getpwuid|posix_kill|posix_setuid|apache_setenv)\s*(?:\(|/\*.*\*/\s*\()",
        r"(?:^|[^a-z0-9_])(?:system|exec|eval|assert|preg_replace|include(?:_once)?|require(?:_once)?|fopen|fwrite|fputs|readfile|file|getenv|putenv|ini_set|ini_get|chr|ord|array_map|array_filter|usort|uasort|ob_start|mail|mb_send_mail|dl|symlink|link|chmod|chown|unlink|rmdir|mkdir|copy|rename|scandir|glob|opendir|readdir|var_dump|print_r|var_export|debug_zval_dump|extract|parse_str|filter_var|simplexml_load_string|get_defined_vars|get_defined_functions|constant|settype|escapeshellcmd|escapeshellarg|proc_nice|proc_terminate|dir|is_dir|file_exists|is_file|is_writable|touch|tempnam|tmpfile|session_start|header|setcookie)\((?:\s*\)|\s*[$\x22\x27`]|[^)\s]*\))",
        r"\$_(?:get|post|request|cookie|server|files|env|session)\b|\$globals\b|\$http_(?:get|post|cookie|server)_vars|\$http_raw_post_data|php://(?:input|filter|stdin|memory|temp|fd)",
        // a PHP open tag (an XML declaration is not one)
        r"<\?(?:php|=|\s|[a-wyz_$]|x[^m]|xm[^l])|<\?$",
        r"^\s*(?:engine|extension|extension_dir|zend_extension|smtp|sendmail_path|sendmail_from|error_log|include_path|session\.save_path|session\.serialize_handler|upload_tmp_dir|short_open_tag|register_globals|magic_quotes_gpc|mbstring\.[a-z_]+|opcache\.[a-z_]+|pcre\.[a-z_]+|xdebug\.[a-z_]+|phar\.readonly|zend\.[a-z_]+|assert\.[a-z_]+|suhosin\.[a-z_.]+)\s*=",
        r"(?:^|[;{}])\s*[oc]:\d+:\x22[a-z_\\][a-z0-9_\\]*\x22:\d+:\{|(?:^|[;{}])\s*a:\d+:\{\s*[isdbn][:;]",
        r"\b(?:allow_url_include|auto_prepend_file|auto_append_file|disable_functions|open_basedir|safe_mode)\s*=",
        r"\(\s*(?:/\*.*?\*/)?\s*['\x22]?(?:system|exec|shell_exec|passthru|popen|proc_open|assert|eval|phpinfo|pcntl_exec)['\x22]?\s*(?:/\*.*?\*/)?\s*\)\s*\(|['\x22](?:system|exec|shell_exec|passthru|popen|proc_open|assert|phpinfo)['\x22]\s*\(|\$\{\s*['\x22][a-z_]*['\x22]\s*\}|\$\s*\{\s*@",
        r"\$[a-z_][a-z0-9_]*\s*(?:\[[^\]]*\]\s*|\{[^}]*\}\s*)*\(\s*[$'\x22\d]|\$\{\s*['\x22]?_(?:get|post|request|cookie)|\$\{\s*\$[a-z_]",
        r"(?:fsockopen|shell_exec|passthru|proc_open|pcntl_exec|base64_decode|gzinflate|gzuncompress|str_rot13|zlib_decode|call_user_func|create_function|file_get_contents|file_put_contents|phpinfo|php_uname|assert_options|preg_replace_callback|array_walk|mb_ereg_replace|unserialize|highlight_file|show_source)\s*\(",
    ])
});

/// PHP code injection: high-risk functions, superglobals, wrappers, serialized objects.
pub fn php(v: &[u8]) -> bool {
    any(&PHP, v)
}

static EXPLOITABLE_PATHS: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"(?:^|/)(?:web-inf|meta-inf)(?:/|$)",
        r"(?:^|/)\.(?:git|svn|hg|bzr|cvs|env|aws|ssh|docker|kube|idea|vscode|ds_store|htaccess|htpasswd|npmrc|bash_history)(?:/|$|\.)",
        r"(?:^|/)(?:cgi-bin|cgi-sys|cgi-mod|fcgi-bin)/(?:[a-z0-9_.-]+\.(?:cgi|pl|sh|py)|php|test-cgi|printenv|bash|sh)",
        r"(?:^|/)(?:server-status|server-info|jmx-console|web-console|invoker/(?:jmxinvokerservlet|ejbinvokerservlet)|manager/html|host-manager|actuator/(?:env|heapdump|jolokia|gateway|shutdown|logfile|threaddump|configprops|mappings|trace|httptrace)|jolokia|console/login|wls-wsat|_async/asyncresponseservice|bea_wls_deployment_internal|hudson|script(?:text)?$|solr/admin|phpunit/src/util/php/eval-stdin|vendor/phpunit|xmlrpc\.php|wp-config|etc/passwd|boaform|hnap1|setup\.cgi|shell\?|\.well-known/.*\.php)",
    ])
});

/// Paths that only probes and exploits ask for.
pub fn exploitable_path(v: &[u8]) -> bool {
    any(&EXPLOITABLE_PATHS, v)
}

static ADMIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?:^|/)(?:admin|administrator|wp-admin|phpmyadmin|pma|adminer|admin\.php|admin-console|manager|cpanel|webadmin|siteadmin|admincp|moderator|backend|controlpanel|admin_area|adminpanel|sysadmin|administration)(?:/|$|\.|\?)",
    )
});

/// Administrative pages.
pub fn admin_path(v: &[u8]) -> bool {
    ADMIN.as_ref().is_some_and(|r| r.is_match(v))
}

static SQLI_EXT: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"\bunion\b[\s(]+(?:all\s+|distinct\s+)?[\s(]*select\b",
        r"\binformation_schema\b|\bmysql\.(?:user|db)\b|\bsys\.(?:objects|tables|columns|databases|sysobjects|user\$)|\bpg_(?:catalog|shadow|user|tables|database)\b|\bsqlite_(?:master|schema|temp_master)\b|\bmsysobjects\b|\bsysobjects\b|\bsyscolumns\b|\ball_tables\b|\buser_tables\b|\bdba_users\b|\bv\$version\b",
        r"@@(?:version|datadir|hostname|basedir|tmpdir|servername|spid|language|identity)",
        r"\b(?:sleep|benchmark|pg_sleep|dbms_lock\.sleep|dbms_pipe\.receive_message)\s*\(\s*[\d'\x22(]|\bwaitfor\s+(?:delay|time)\s+['\x22]",
        r"\b(?:into\s+(?:out|dump)file|load_file\s*\(|load\s+data\s+(?:local\s+)?infile)\b",
        r";\s*(?:drop|truncate|shutdown|alter|create|insert|update|delete|exec(?:ute)?|declare|grant|revoke|select|waitfor)\s+[\w@(*\[`'\x22]",
        r"\b(?:xp_cmdshell|sp_executesql|sp_oacreate|sp_makewebtask|xp_regread|xp_dirtree|xp_fileexist|openrowset|opendatasource|utl_http\.request|utl_inaddr|dbms_xmlgen|ctxsys\.)",
        r"\b(?:extractvalue|updatexml)\s*\(.*(?:concat|0x|select|char|@@|version|user|database)",
        r"(?:'|\x22|\d|\))\s*(?:or|and|\|\||&&)\s+(?:\d+|'[^']*'|\x22[^\x22]*\x22)\s*(?:=|<>|!=|<=?|>=?|\blike\b)\s*(?:\d+|'[^']*'?|\x22[^\x22]*\x22?)",
        r"(?:'|\x22)\s*(?:or|and|\|\||&&)\s*(?:'|\x22)?\s*[\w]+\s*(?:'|\x22)?\s*(?:=|<>|like)\s*(?:'|\x22)",
        r"\bselect\s+(?:distinct\s+)?(?:\*|[\w.@()`\x22\[\]]+(?:\s*,\s*[\w.@()`\x22\[\]]+)*)\s+from\s+[\w.\[\]`\x22]+(?:\s+as\s+\w+)?\s+(?:where|limit|order\s+by|group\s+by|union|join)\b",
        r"\b(?:group_concat|concat_ws|concat)\s*\(.*(?:0x[0-9a-f]+|char\s*\(|@@|select|table_name|column_name|schema_name)",
        r"\bchar\s*\(\s*\d+\s*(?:,\s*\d+\s*){2,}\)|\bchr\s*\(\s*\d+\s*\)\s*(?:\|\||\+)",
        r"(?:'|\x22|\))\s*;\s*--|(?:'|\x22)\s*(?:--|#|/\*)\s*$",
        r"\border\s+by\s+\d+\s*(?:--|#|/\*)|\bhaving\s+\d+\s*=\s*\d+|\bgroup\s+by\s+[\w,\s]+having\b",
        r"(?:\band|\bor|[a-z0-9]and)\s+\d+\s*(?:=|<>|!=|<=?|>=?)\s*\d+\s*(?:--|#|/\*|;|$)|\b(?:and|or)\s+(?:true|false)\s*(?:--|#|/\*|$)",
        r"(?:'|\x22)\s*(?:\|\||\+)\s*(?:\(\s*)?select\b|(?:'|\x22)\s*(?:\|\||\+)\s*(?:'|\x22)",
        r"\bcase\s+when\s+[\w.()'\x22@]+\s*(?:=|<>|!=|<|>|\blike\b|\bis\b)\s*\S+\s+then\b|\bif\s*\(\s*(?:\d+\s*[=<>]|ascii|substr|length|mid|\(|sleep|user|database|version|@@)",
        r"\bselect\s+(?:\*|count\s*\(|@@|user\s*\(|version\s*\(|database\s*\(|[\w.]+\s*,\s*[\w.]+\s+from\b|\w+\s+from\s+[\w.]+\s*(?:$|--|#|;|\)|/\*|\bwhere\b|\blimit\b|\border\b|\bgroup\b|\bunion\b))",
        r"(?:^|[\s'\x22(])(?:exec|execute)\s+(?:master\.|xp_|sp_|\()",
        r"\b(?:ascii|ord|length|len|substring|substr|mid)\s*\(\s*(?:\(|select|user|database|version|@@)",
        r"/\*!\d*\s*(?:union|select|and|or|from|where|\d)",
        r"(?:'|[a-z_)])\s*::\s*(?:jsonb?|text|int\d?|integer|bigint|varchar|bytea|regclass|oid|numeric|boolean|double precision|real|money|inet|xml)\b|\bjson_(?:extract|keys|depth|search|contains)\s*\(|'\s*(?:@>|<@|\?\||\?&|#>>?)\s*'",
        // NoSQL operators in keys or values
        r"\[\s*\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|or|and|not|nor|expr|elemmatch|size|type|mod|all|text|function)\s*\]|^\$(?:ne|eq|gt|gte|lt|lte|regex|where|nin|in|exists|or|and|not|nor|expr|function|text|all|size|type|mod|elemmatch|jsonschema|accumulator|lookup)$|\{\s*['\x22]?\$(?:ne|gt|gte|lt|lte|regex|where|nin|in|exists|or|and|expr|function)['\x22]?\s*:",
        r"\bdb\.[a-z_]+\.(?:find|insert|remove|update|drop|aggregate)\s*\(|\bthis\.[a-z_]+\s*(?:==|!=|\.match)|\bsleep\s*\(\s*\d+\s*\)\s*(?:;|\|\||&&)|';\s*return\s+(?:true|1)",
    ])
});

/// Extended SQL injection patterns (the SQLiExtendedPatterns rules), including NoSQL
/// operator injection.
pub fn sqli_extended(v: &[u8]) -> bool {
    let rc = crate::transform::apply(crate::transform::Transformation::ReplaceComments, v);
    if any(&SQLI_EXT, &rc) || any(&SQLI_EXT, v) {
        return true;
    }
    // Keywords split by string joins (`un","ion se","lect`).
    let joined = QUOTE_JOIN.as_ref().map(|r| r.replace_all(v, &b""[..]));
    joined.is_some_and(|j| {
        j.len() < v.len()
            && (any(&SQLI_EXT, &j) || crate::sqli::is_sqli(&j, crate::sqli::Sensitivity::Low))
    })
}

static QUOTE_JOIN: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r#"\\?["'`]\s*[,+.|]{1,2}\s*\\?["'`]"#));

static SSTI: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        r"\{\{[^}]*(?:\d\s*[*+/-]\s*\d|__[a-z]+__|\bconfig\b|\bself\b|\brequest\b|\bcycler\b|\bjoiner\b|\blipsum\b|\bnamespace\b|\bget_flashed_messages\b|\burl_for\b|\|\s*attr|\[\s*['\x22]|\.\s*(?:class|mro|subclasses|globals|builtins|import|popen|os|system|read|constructor|getclass|forname|exec|eval|touppercase|toupper|tolower|getruntime)|\(\s*\)|_self\.env|\bsystem\b|\bexec\b|\bdump\b|\bphpinfo\b|\brange\b|\bmap\b|\bfilter\b)[^}]*\}\}",
        r"\{%\s*(?:import|include|extends|set|for|if|macro|call|block|raw|debug|print|with|load|csrf_token|autoescape|filter|from|spaceless|verbatim)\b",
        r"\$\{\s*(?:\d+\s*[*+/-]\s*\d+|[a-z_.]+\s*\(|[a-z]+\.[a-z]+\.|\{|7\*7|class|product|t\(|new\s|\x22[^\x22]*\x22\.|'[^']*'\.|request|session|application|freemarker|@)",
        r"#\{\s*(?:\d+\s*[*+/-]\s*\d+|[a-z_.]+\s*\(|t\(|new\s|'[^']*'\.|\x22[^\x22]*\x22\.)",
        r"<%=?\s*(?:\d+\s*[*+/-]|[a-z_.]+\s*\(|system|exec|eval|request|response|runtime|`|%x|\$)|<#(?:assign|include|import|list|if|macro|function)\b|\?new\s*\(\s*\)|freemarker\.template\.utility|\$\{?\s*product\.getclass|\[#[a-z]",
        r"__(?:class|mro|subclasses|globals|builtins|import|init|base|bases|dict|getattribute|reduce)__|\bgetattr\s*\(|\blipsum\.|\bcycler\.|\bjoiner\.|\bnamespace\.__|\battr\s*\(\s*['\x22]_",
        r"\{\{\s*\d+\s*\*\s*['\x22]?\d+['\x22]?\s*\}\}|\$\{\s*\d+\s*\*\s*\d+\s*\}|\{\s*\d+\s*\*\s*\d+\s*\}|\[\[\s*\d+\s*\*\s*\d+\s*\]\]|@\(\s*\d+\s*\*\s*\d+\s*\)|\{\{\s*['\x22]?[a-z]+['\x22]?\s*\|\s*[a-z_]+",
        r"\{\{\s*(?:_self|this|constructor|self|config|request|settings|app|dump|range|cycler|joiner|lipsum|url_for|get_flashed_messages|g|session|x|y|z)\b[^}]*\}\}|\{\{\s*[a-z_]+\s*\(",
    ])
});

/// Server-side template injection.
pub fn ssti(v: &[u8]) -> bool {
    any(&SSTI, v)
}

static MISC: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    set(&[
        // XML external entities / DTD injection
        r"<!entity\s|<!doctype\s+[a-z_:.-]+\s*(?:\[|system\s|public\s)|<!element\s|<!attlist\s|<xi:include|xmlns:xi\s*=|<\?xml-stylesheet|<xsl:(?:value-of|copy-of|include|import)",
        // LDAP filter injection
        r"\)\s*\(\s*[|&!]|\*\s*\)\s*\(|\(\s*[|&!]\s*\(\s*[a-z]+\s*[=~<>]|\)\s*\(\s*[a-z]+\s*[~<>]?=\s*\*|^\s*\*\s*\)\s*(?:\)|\(|$)|\(\s*[a-z]+\s*=\s*\*\s*\)\s*\)",
        // SSI
        r"<!--\s*#\s*(?:exec|include|echo|config|set|printenv|fsize|flastmod|if|elif)\b",
        // CRLF / mail header injection
        r"[\r\n][\s0-9]*(?:bcc|cc|to|from|subject|reply-to|content-type|content-transfer-encoding|mime-version|x-[a-z-]+|set-cookie|location|refresh|content-length|content-disposition|http/\d)\s*:|[\r\n]\s*(?:rcpt to|mail from)\s*:|[\r\n]\s*(?:data|quit|rset)\s*(?:[\r\n]|$)|[\r\n]\s*(?:helo|ehlo|vrfy|expn)\s+[a-z0-9.@-]+\s*(?:[\r\n]|$)|[\r\n]\s*(?:\.|[a-z]\d+ (?:capability|login|select|list|fetch|logout|lsub|append|copy|store|examine|status|create|delete|rename|noop|search|uid))\s*",
        r"^\s*\d*\s*(?:capability|login|select|list|fetch|logout|lsub|append|examine|status|uid)\s+.*[\r\n]",
        // XPath injection
        r"(?:'|\x22)\s*(?:or|and)\s+(?:'|\x22)?[^'\x22=]*(?:'|\x22)?\s*=\s*(?:'|\x22)|\b(?:count|string-length|substring|starts-with|local-name)\(\s*(?:/|\.\.|@|\*)|\b(?:name|text|contains)\(\s*(?://|/[a-z]|\.\.)|//\*|/\*\[|\]\s*\|\s*//",
        // GraphQL introspection / batching abuse
        r"__schema\s*\{|__type\s*\(|\{\s*__typename|query\s+introspectionquery|mutation\s*\{[^}]*\{",
        // HTTP response splitting: a CRLF followed by a request or status line
        r"[\r\n]\s*(?:get|post|head|put|delete|options|trace|connect|patch)\s+\S+\s+http/\d|[\r\n]\s*http/\d\.\d\s+\d{3}",
        // open redirect and protocol-relative hosts at the start of a value
        r"^@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|ru|cn|xyz|info|biz|co|me|tk|top)(?:[/?#:]|$)|^(?:/|\\){2,}[a-z0-9.-]+\.[a-z]{2,}|^/\\[a-z0-9.-]+|^(?:https?:)?/+[^/\s]*@[a-z0-9.-]+\.[a-z]{2,}|^https?:/*(?:\\|%5c)",
        // out-of-band interaction hosts used to confirm blind injections
        r"(?:^|[.@/\s])[a-z0-9-]*\.?(?:interact\.sh|oast\.(?:pro|live|site|online|fun|me)|burpcollaborator\.net|oastify\.com|dnslog\.cn|requestbin\.(?:net|com)|canarytokens\.com|ceye\.io|bxss\.me|xss\.ht|pipedream\.net)(?:$|[/:?\s])",
        // server-side JavaScript: process and module access, prototype pollution, hangs
        r"\bprocess\s*(?:\.|\[)\s*['\x22`]?\s*(?:mainmodule|binding|env|exit|kill|dlopen|\w+\.\w+\s*\(|req\b|constructor)|\brequire\s*\(\s*['\x22`](?:child_process|fs|net|os|vm|http|https|dgram|cluster)['\x22`]|child_process|__proto__|\[\s*['\x22]?constructor['\x22]?\s*\]\s*\[\s*['\x22]?prototype|constructor\s*\.\s*prototype|_\$\$nd_func\$\$_|\bwhile\s*\(\s*(?:true|1|!0|!false|!null|!!|\+1|new\s+date|!\[\])|\$\d+:constructor:constructor",
        // .NET serialised objects and Json.NET type gadgets
        r"aaeaaad/////|\x22\$type\x22\s*:\s*\x22system\.|objectdataprovider|system\.windows\.data|system\.diagnostics\.process|typeconfusedelegate|windowsidentity|__viewstate.{0,20}/wey",
        // edge-side includes and formula injection into exported spreadsheets
        r"<esi:(?:include|vars|debug|eval|choose)|^\s*[=+@-]\s*(?:cmd|powershell|msexcel|mshta)\s*\||^\s*=\s*(?:hyperlink|importxml|importdata|importhtml|importfeed|webservice|image)\s*\(|^\s*[=+@-]\s*dde\s*\(",
        // YAML / Python / Ruby deserialisation tags
        r"!!python/(?:object|name|module)|!ruby/(?:object|hash|struct)|!!javax?\.|!!(?:com|org|net)\.[a-z]",
        // UTF-7 encoded markup
        r"\+adw(?:-|a[a-z0-9+/]{2})|\+ad4(?:-|a)",
        // LDAP filter metacharacter clusters and extensible matches
        r"\*\s*\(\s*\)\s*[|&]|\(\s*\)\s*[|&]\s*['\x22(]|[a-z]+:(?:dn:)?\d+(?:\.\d+){2,}:=",
        // session fixation via injected cookies
        r"\.cookie\s*=|set-cookie\s*:|<meta[^>]+http-equiv\s*=\s*['\x22]?set-cookie|(?:^|[;&?])\s*(?:jsessionid|phpsessid|aspsessionid[a-z]*|sessionid|sid)\s*=\s*[a-z0-9]+\s*;?\s*(?:domain|path|expires)\s*=|\.cookie\s*;\s*(?:expires|domain|path)\s*=",
    ])
});

/// Other injections: XXE/DTD, LDAP, SSI, CRLF and mail header, XPath, GraphQL introspection,
/// open redirect, session fixation.
pub fn misc_injection(v: &[u8]) -> bool {
    any(&MISC, v)
}

static SESSION_NAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"^(?:jsessionid|phpsessid|phpsession|aspsessionid[a-z]*|asp\.net_sessionid|sessionid|session[-_]?id|sid|sess|_session|_rails_session|[a-z]+[._:]sid|[a-z]+:sess|zend_session_id|jwsession|cfid|cftoken|laravel_session|ci_session|connect\.sid)$",
    )
});

/// A parameter name that carries a session identifier.
pub fn session_param_name(name: &[u8]) -> bool {
    SESSION_NAME
        .as_ref()
        .is_some_and(|r| r.is_match(&name.to_ascii_lowercase()))
}

/// Whether every pattern set compiled (a test checks this; a set that fails to compile would
/// otherwise silently never match).
pub fn patterns_ok() -> bool {
    TRAVERSAL.is_some()
        && UNIX_FILES.is_some()
        && WIN_FILES.is_some()
        && RFI.is_some()
        && SSRF_META.is_some()
        && SSRF_LOCAL.is_some()
        && RESTRICTED_EXT.is_some()
        && BAD_BOTS.is_some()
        && JAVA.is_some()
        && LOG4J_STRIP.is_some()
        && UNIX_CMD.is_some()
        && WIN_CMD.is_some()
        && POWERSHELL.is_some()
        && PHP.is_some()
        && EXPLOITABLE_PATHS.is_some()
        && ADMIN.is_some()
        && SQLI_EXT.is_some()
        && SSTI.is_some()
        && MISC.is_some()
        && UPLOAD_SCRIPT.is_some()
        && SHELL_NOISE.is_some()
        && SESSION_NAME.is_some()
        && QUOTE_JOIN.is_some()
}

#[cfg(test)]
#[path = "tests/detect.rs"]
mod tests;
