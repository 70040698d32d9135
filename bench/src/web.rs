//! The web app's pages, as a browser asks for them: how long each takes with a circle of many
//! messages, and whether a big circle's first screen costs what a small one's does (it must
//! not read the whole history).

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use circle_crypto::CircleId;
use circle_node::{
    Api, Circles, Node,
    support::{Audience, Checkin, Goal, ReachOut},
};

use crate::{
    history::{offline, write},
    report::{Figure, Report, Target, Unit, percentile, sorted},
};

/// Requests before timing (the page's first read warms sled's cache, as any use does).
const WARMUP: usize = 3;
/// Timed requests per page.
const SAMPLES: usize = 30;
/// Messages in the small circle the big one is compared with: one screen's worth (the feed
/// shows the newest 50), so the two screens show as much and differ only in what lies behind.
const SMALL: usize = 50;

/// How many check-ins, goals and reach-outs the big circle holds (one of each per round).
const NOTABLE_ROUNDS: usize = 10;

/// One check-in, one goal and one reach-out by `circles`' member.
fn notable(circles: &Circles, circle: &CircleId, round: usize) -> anyhow::Result<()> {
    let checkin = Checkin {
        day: 3,
        mood: Some(5),
        craving: Some(2),
        triggers: vec!["work".into()],
        note: Some(format!("round {round}")),
    };
    circles.checkin(circle, checkin, Audience::Circle)?;
    let goal = Goal {
        text: format!("call my sponsor ({round})"),
        by: None,
    };
    circles.goal(circle, goal, Audience::Circle)?;
    let reach = ReachOut {
        text: Some(format!("a hard evening ({round})")),
        callback: None,
    };
    circles.reach_out(circle, reach)?;
    Ok(())
}

/// Times every page of a node holding a circle of `messages` shares.
pub async fn pages(messages: usize, report: &mut Report) -> anyhow::Result<()> {
    report.progress(format!("web pages: alice's circle of {messages} messages"));
    let (circles, _home) = offline("alice")?;
    let big = circles.create("big", None)?;
    let small = circles.create("small", None)?;
    let writer = circles.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        // Mostly shares, as a circle's talk is, with check-ins, goals and reach-outs among
        // them: one of each after every tenth of the shares.
        for part in 0..NOTABLE_ROUNDS {
            write(
                &writer,
                &big,
                &format!("w{part}"),
                messages / NOTABLE_ROUNDS,
            )?;
            notable(&writer, &big, part)?;
        }
        write(&writer, &small, "s", SMALL)?;
        Ok(())
    })
    .await
    .map_err(|e| anyhow!("the writer failed: {e}"))??;
    let api = Api::start(Node::offline(circles)?).await?;
    // The app lives at a secret `*.localhost` name, which browsers (not every system
    // resolver) take for this computer.
    let link = reqwest::Url::parse(&api.sign_in_link())?;
    let host = link.host_str().context("the sign-in link names no host")?;
    let port = link.port().context("the sign-in link names no port")?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .build()?;
    let signed = http.get(link.clone()).send().await?;
    let cookie = signed
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("the sign-in link set no cookie")?
        .to_string();
    let base = link.origin().ascii_serialization();
    let page = |path: String| {
        let (http, cookie, url) = (http.clone(), cookie.clone(), format!("{base}{path}"));
        async move { time_page(&http, &url, &cookie).await }
    };
    let scenario = "web pages";
    for (name, path) in [
        ("your circles", "/".to_string()),
        ("feed", format!("/c/{big}")),
        ("check-in", format!("/c/{big}/check-in")),
        ("reach out", format!("/c/{big}/reach-out")),
        ("goals", format!("/c/{big}/goals")),
        ("partners", format!("/c/{big}/partners")),
        ("meetings", format!("/c/{big}/meetings")),
        ("members", format!("/c/{big}/members")),
        ("invite", format!("/c/{big}/invite")),
        ("clocks", "/clocks".to_string()),
        ("this node", "/node".to_string()),
        ("help now", "/help-now".to_string()),
    ] {
        let times = page(path).await?;
        report.add(
            Figure::new(
                scenario,
                &format!("{name}: p99 ms ({messages} messages)"),
                percentile(&times, 99.0).unwrap_or(f64::NAN),
                Unit::Ms,
            )
            .target(Target::at_most(50.0, "every page under 50 ms"))
            .note(format!(
                "p50 {:.2} ms over {SAMPLES} requests",
                percentile(&times, 50.0).unwrap_or(f64::NAN)
            )),
        );
    }
    let big_feed = page(format!("/c/{big}")).await?;
    let small_feed = page(format!("/c/{small}")).await?;
    let small_p50 = percentile(&small_feed, 50.0).unwrap_or(f64::NAN);
    report.add(
        Figure::new(
            scenario,
            &format!("feed of {messages} messages: p50 ms"),
            percentile(&big_feed, 50.0).unwrap_or(f64::NAN),
            Unit::Ms,
        )
        .limit(
            &format!("the feed of a circle of {SMALL} (one screen)"),
            Some(small_p50),
        )
        .target(Target::ratio_at_most(
            1.5,
            "a big circle opens as fast as a small one",
        )),
    );
    api.stop().await;
    Ok(())
}

/// `SAMPLES` timings of one page, in milliseconds, sorted; each answer must be the page.
async fn time_page(http: &reqwest::Client, url: &str, cookie: &str) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(SAMPLES);
    for k in 0..WARMUP + SAMPLES {
        let start = Instant::now();
        let answer = http.get(url).header("cookie", cookie).send().await?;
        let status = answer.status();
        let body = answer.text().await?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            status.is_success() && body.contains("</html>"),
            "{url} answered {status}"
        );
        if k >= WARMUP {
            times.push(ms);
        }
    }
    Ok(sorted(times))
}
