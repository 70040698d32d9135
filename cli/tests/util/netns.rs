//! Network namespaces for stories where not everyone can reach everyone: real `circle`
//! processes, each in a network of its own, wired together by the test (root only).
//!
//! A [`Net`] owns a set of namespaces named after this process and a counter (`ct<pid>-<n>-…`),
//! so tests run in parallel, and deletes them when dropped, also when a test panics; what a
//! killed test process left behind is deleted by the next one. Addresses are `10.X.Y.Z` with
//! `X` different for each `Net` of a process. Nothing is routed to or from the machine's own
//! network: the namespaces only reach each other, through links the test makes.
//!
//! A [`Host`] is a person whose every `circle` command runs in their namespace (`ip netns exec`):
//! their node listens there, and the commands reach its local API on 127.0.0.1 there.

mod host;

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    net::Ipv4Addr,
    path::PathBuf,
    process::{Command, Stdio},
    sync::atomic::{AtomicU8, Ordering},
    thread,
    time::{Duration, Instant},
};

// Not every test file that shares these helpers uses them.
#[allow(unused_imports)]
pub use host::{Host, Ran};

/// The iproute2 program.
const IP: &str = "ip";
/// What a skipped test prints.
const SKIPPED: &str = "skipped: needs root and iproute2 for network namespaces";

/// Says why a test is skipped; where CIRCLE_REQUIRE_NETNS is set (CI as root), fails instead,
/// so a run that should prove these tests never passes without them.
fn skip(why: &str) {
    if std::env::var_os("CIRCLE_REQUIRE_NETNS").is_some() {
        panic!("{SKIPPED} ({why}), and CIRCLE_REQUIRE_NETNS is set");
    }
    println!("{SKIPPED} ({why})");
}
/// Prefix of every namespace these tests make.
const PREFIX: &str = "ct";

static NETS: AtomicU8 = AtomicU8::new(0);

/// Namespaces, links between them and routes in them; all deleted on drop.
pub struct Net {
    tag: String,
    subnet: u8,
    /// Every namespace made, the switch included.
    namespaces: Vec<String>,
    /// Each host's addresses, in the order they were given.
    addresses: BTreeMap<String, Vec<Ipv4Addr>>,
    /// (host, address) of the blackhole routes in place.
    blackholes: Vec<(String, Ipv4Addr)>,
    switch: Option<String>,
    bridges: BTreeSet<String>,
    ports: usize,
}

impl Net {
    /// An empty set of namespaces, or `None` (after printing why) when this process may not
    /// make any: not root, or no working `ip netns`.
    pub fn new() -> Option<Net> {
        if !is_root() {
            skip("not running as root");
            return None;
        }
        delete_stale();
        let n = NETS.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let net = Net {
            tag: format!("{PREFIX}{pid}-{n}"),
            subnet: 20 + ((pid % 47) as u8).wrapping_mul(4).wrapping_add(n) % 200,
            namespaces: Vec::new(),
            addresses: BTreeMap::new(),
            blackholes: Vec::new(),
            switch: None,
            bridges: BTreeSet::new(),
            ports: 0,
        };
        let probe = format!("{}-probe", net.tag);
        match run(Command::new(IP).args(["netns", "add", &probe])) {
            Ok(_) => {
                let _ = run(Command::new(IP).args(["netns", "del", &probe]));
                Some(net)
            }
            Err(why) => {
                skip(&why);
                None
            }
        }
    }

    /// Hosts on one switch, at `10.X.0.1`, `10.X.0.2`, … in the order given; `None` if this
    /// process may not make namespaces.
    pub fn switched(hosts: &[&str]) -> Option<Net> {
        let mut net = Net::new()?;
        for (i, host) in hosts.iter().enumerate() {
            net.add_host(host);
            let address = net.address(0, i as u8 + 1);
            net.plug(host, address);
        }
        Some(net)
    }

    /// `10.X.<third>.<fourth>` in this net's range.
    pub fn address(&self, third: u8, fourth: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, self.subnet, third, fourth)
    }

    /// A new namespace for `host`, with `lo` up (the CLI talks to its node there).
    pub fn add_host(&mut self, host: &str) {
        let ns = self.ns(host);
        self.add_namespace(&ns);
        self.ip(host, &["link", "set", "lo", "up"]);
        self.addresses.insert(host.to_string(), Vec::new());
    }

    /// Connects `host` at `address`/24 to the switch `br0`.
    pub fn plug(&mut self, host: &str, address: Ipv4Addr) {
        self.plug_into(host, address, "br0");
    }

    /// Connects `host` at `address`/24 to the switch `bridge` (made the first time).
    pub fn plug_into(&mut self, host: &str, address: Ipv4Addr, bridge: &str) {
        let switch = self.switch(bridge);
        self.ports += 1;
        let port = format!("port{}", self.ports);
        let device = self.veth(host, &switch, &port);
        ip_in(&switch, &["link", "set", &port, "master", bridge]);
        ip_in(&switch, &["link", "set", &port, "up"]);
        self.add_address(host, &device, address);
    }

    /// A cable between the switches `a` and `b` (made if need be): their hosts are on one
    /// network while it is plugged in.
    pub fn cable(&mut self, a: &str, b: &str) {
        let (switch, _) = (self.switch(a), self.switch(b));
        let (end_a, end_b) = (format!("{a}-{b}"), format!("{b}-{a}"));
        ip_in(
            &switch,
            &[
                "link", "add", &end_a, "type", "veth", "peer", "name", &end_b,
            ],
        );
        for (end, bridge) in [(&end_a, a), (&end_b, b)] {
            ip_in(&switch, &["link", "set", end, "master", bridge]);
            ip_in(&switch, &["link", "set", end, "up"]);
        }
    }

    /// Pulls out (`false`) or plugs back in (`true`) the cable between switches `a` and `b`.
    /// Unlike [`Net::split`], no host sees an error: packets are lost on the way, as when a
    /// link in the middle of a network fails.
    pub fn set_cable(&self, a: &str, b: &str, plugged: bool) {
        let switch = self.switch.clone().expect("a net with switches");
        let state = if plugged { "up" } else { "down" };
        ip_in(&switch, &["link", "set", &format!("{a}-{b}"), state]);
    }

    /// The switch namespace, made the first time, with `bridge` in it.
    fn switch(&mut self, bridge: &str) -> String {
        let switch = match &self.switch {
            Some(switch) => switch.clone(),
            None => {
                let switch = format!("{}-switch", self.tag);
                self.add_namespace(&switch);
                self.switch = Some(switch.clone());
                switch
            }
        };
        if self.bridges.insert(bridge.to_string()) {
            ip_in(&switch, &["link", "add", bridge, "type", "bridge"]);
            ip_in(&switch, &["link", "set", bridge, "up"]);
        }
        switch
    }

    /// A direct link between `a` at `a_address`/24 and `b` at `b_address`/24.
    pub fn link(&mut self, a: &str, a_address: Ipv4Addr, b: &str, b_address: Ipv4Addr) {
        let b_ns = self.ns(b);
        let b_device = format!("eth{}", self.addresses[b].len());
        let a_device = self.veth(a, &b_ns, &b_device);
        ip_in(&b_ns, &["link", "set", &b_device, "up"]);
        self.add_address(a, &a_device, a_address);
        self.add_address(b, &b_device, b_address);
    }

    /// Sends everything `host` does not know how to reach to `gateway`.
    pub fn default_route(&self, host: &str, gateway: Ipv4Addr) {
        self.ip(
            host,
            &["route", "add", "default", "via", &gateway.to_string()],
        );
    }

    /// Turns IPv4 forwarding in `host` on or off (and checks that it took).
    pub fn forwarding(&self, host: &str, on: bool) {
        let value = if on { "1" } else { "0" };
        let path = "/proc/sys/net/ipv4/ip_forward";
        self.exec(host, "sh", &["-c", &format!("echo {value} > {path}")])
            .expect("can set ip_forward");
        let now = self
            .exec(host, "cat", &[path])
            .expect("can read ip_forward");
        assert_eq!(now.trim(), value, "ip_forward in {host}'s namespace");
    }

    /// `host`'s first address.
    pub fn ip_of(&self, host: &str) -> Ipv4Addr {
        self.addresses[host][0]
    }

    /// The namespace of `host`.
    pub fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.tag)
    }

    /// Runs `ip <args>` in `host`'s namespace; it must succeed.
    pub fn ip(&self, host: &str, args: &[&str]) -> String {
        ip_in(&self.ns(host), args)
    }

    /// Runs `program args` in `host`'s namespace: its output, or why it failed.
    pub fn exec(&self, host: &str, program: &str, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new(IP);
        command
            .args(["netns", "exec", &self.ns(host), program])
            .args(args);
        run(&mut command)
    }

    /// Whether a TCP connection from `host` to `address:port` opens within 3 s.
    pub fn connects(&self, host: &str, address: Ipv4Addr, port: u16) -> bool {
        self.connect(host, address, port).is_ok()
    }

    /// Opens a TCP connection from `host` to `address:port` within 3 s, or says why not.
    pub fn connect(&self, host: &str, address: Ipv4Addr, port: u16) -> Result<(), String> {
        let open = format!("exec 3<>/dev/tcp/{address}/{port}");
        self.exec(host, "timeout", &["3", "bash", "-c", &open])
            .map(drop)
    }

    /// Whether one ping from `host` to `address` is answered within a second; `None` if
    /// `ping` is not installed.
    pub fn pings(&self, host: &str, address: Ipv4Addr) -> Option<bool> {
        let installed = Command::new("sh")
            .args(["-c", "command -v ping"])
            .output()
            .is_ok_and(|o| o.status.success());
        installed.then(|| {
            self.exec(host, "ping", &["-c1", "-W1", &address.to_string()])
                .is_ok()
        })
    }

    /// Splits the net: no host of `one` reaches any address of `other`, nor the other way
    /// round (blackhole routes on both sides), until [`Net::heal`].
    pub fn split(&mut self, one: &[&str], other: &[&str]) {
        for (from, to) in [(one, other), (other, one)] {
            for host in from {
                for address in to.iter().flat_map(|h| self.addresses[*h].clone()) {
                    self.ip(
                        host,
                        &["route", "add", "blackhole", &format!("{address}/32")],
                    );
                    self.blackholes.push((host.to_string(), address));
                }
            }
        }
    }

    /// Takes every blackhole route away.
    pub fn heal(&mut self) {
        for (host, address) in std::mem::take(&mut self.blackholes) {
            self.ip(
                &host,
                &["route", "del", "blackhole", &format!("{address}/32")],
            );
        }
    }

    fn add_namespace(&mut self, ns: &str) {
        run(Command::new(IP).args(["netns", "add", ns]))
            .unwrap_or_else(|e| panic!("cannot make the namespace {ns}: {e}"));
        self.namespaces.push(ns.to_string());
    }

    /// A veth pair from `host` (its next `ethN`) to `peer_device` in `peer_ns`; returns the
    /// host's side. Made straight in the namespaces: no name is taken on the machine itself.
    fn veth(&self, host: &str, peer_ns: &str, peer_device: &str) -> String {
        let (ns, device) = (self.ns(host), format!("eth{}", self.addresses[host].len()));
        let mut command = Command::new(IP);
        command.args([
            "link", "add", &device, "netns", &ns, "type", "veth", "peer", "name",
        ]);
        command.args([peer_device, "netns", peer_ns]);
        run(&mut command).unwrap_or_else(|e| panic!("cannot link {ns} to {peer_ns}: {e}"));
        device
    }

    fn add_address(&mut self, host: &str, device: &str, address: Ipv4Addr) {
        self.ip(
            host,
            &["addr", "add", &format!("{address}/24"), "dev", device],
        );
        self.ip(host, &["link", "set", device, "up"]);
        self.addresses
            .get_mut(host)
            .expect("a host of this net")
            .push(address);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            if let Err(e) = run(Command::new(IP).args(["netns", "del", ns])) {
                eprintln!("could not delete the namespace {ns}: {e}");
            }
        }
    }
}

/// Runs `ip -n <ns> <args>`; it must succeed.
fn ip_in(ns: &str, args: &[&str]) -> String {
    let mut command = Command::new(IP);
    command.args(["-n", ns]).args(args);
    run(&mut command).unwrap_or_else(|e| panic!("`ip -n {ns} {}` failed: {e}", args.join(" ")))
}

/// Runs a short command: its stdout, or why it failed.
fn run(command: &mut Command) -> Result<String, String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{} ({}): {}",
            describe(command),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Whether this process runs as root (uid 0).
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?.to_string();
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// Deletes namespaces left by test processes that no longer run (killed before their drop).
fn delete_stale() {
    let Ok(list) = run(Command::new(IP).args(["netns", "list"])) else {
        return;
    };
    for ns in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(pid) = ns
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !PathBuf::from(format!("/proc/{pid}")).exists() {
            let _ = run(Command::new(IP).args(["netns", "del", ns]));
        }
    }
}

/// Calls `check` until it returns `Ok`, or panics after `timeout` with `what` and the last
/// complaint (who lacks what). Returns how long it took.
pub fn settles(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<(), String>,
) -> Duration {
    let start = Instant::now();
    settles_with(what, timeout, &mut check);
    start.elapsed()
}

/// Like [`settles`], returning what `check` gave when it succeeded.
pub fn settles_with<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        let complaint = match check() {
            Ok(value) => return value,
            Err(complaint) => complaint,
        };
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting until {what}:\n{complaint}");
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// Panics as soon as `check` fails during `period`: for things that must not happen.
pub fn holds_for(what: &str, period: Duration, mut check: impl FnMut() -> Result<(), String>) {
    let end = Instant::now() + period;
    while Instant::now() < end {
        if let Err(complaint) = check() {
            panic!("{what} stopped holding:\n{complaint}");
        }
        thread::sleep(Duration::from_millis(250));
    }
}
