"""The click path end to end: gateway payload in -> interaction reply request out.

    python bench/bench_clicks.py                    # all parts, 3 runs each
    python bench/bench_clicks.py --only harness     # just the harness's `g.click` latency
    python bench/bench_clicks.py --only burst --gateway-rate 13000   # part 3 paced at a given rate
    python bench/bench_clicks.py --runs 1 --clicks 5000

0. The gateway's ceiling: 20,000 claim-click INTERACTION_CREATE frames (the harness's payloads, with
   tokens as long as Discord's) sent over a loopback websocket by a child process, zlib-stream
   compressed as Discord sends them to discord.py, and read by discord.py's own `DiscordWebSocket.poll_event`
   (aiohttp receive with the heartbeat timeout, inflate, JSON, dispatch) with a no-op parser: the most
   clicks a second one gateway connection can hand the bot on this machine, before any bot work.
1. `g.click` at 1,000 and 10,000 members: what one click costs a test or the playground, spec check on
   (target < 2 ms at 10,000 members).
2. 20,000 simultaneous claim clicks from 10,000 members at stock 5,000: every INTERACTION_CREATE payload
   is handed to discord.py's gateway parser in one go, and each click's time is taken when its
   interaction callback request reaches the (offline) HTTP layer. The spec check is off for this part
   (it is the harness's cost, not the bot's). Targets: last reply < 1.5 s, >= 15,000 clicks/s.
3. A 200,000-claim burst from 100,000 members at stock 50,000 through the drops service (the
   `bench_drops.py` burst, scaled), target p99 < 600 ms and exactly `stock` granted, three ways:
   every claim's task created in ONE loop turn (latency from each task's first step: the first steps of
   200,000 tasks take ~2 s on their own, so this shape cannot meet the target with one task per claim,
   whatever the database does), and claims arriving at the gateway ceiling of part 0 and at twice it
   (latency from each claim's arrival), which is how clicks can reach a bot on one gateway connection.

Each part prints min / median / max over the runs.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import pickle
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import aiohttp
from aiohttp import web
from discord.gateway import DiscordWebSocket

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from discord.enums import ComponentType as CT  # noqa: E402
from discord.enums import InteractionType as IT  # noqa: E402

import bench_drops  # noqa: E402
from bot.offline import Harness  # noqa: E402
from bot.offline.spec import Spec  # noqa: E402
from bot.runtime import settle_heap, tune_process  # noqa: E402


def spread(values: list[float]) -> str:
    return f"min {min(values):,.2f} · median {statistics.median(values):,.2f} · max {max(values):,.2f}"


async def drop_post(g):
    """Open the bench drop and return its announcement post (with the Claim button)."""
    opened = await g.app.drops.open(g.app.guild_id, "bench", by=g.user_id("fan0"))
    await g.settle()
    post = next(m for m in reversed(g.channel("announcements").messages) if m.buttons)
    return opened.run_id, post


# --- 1. the harness's click -------------------------------------------------------------------------------
async def harness_click(members: int, clicks: int) -> float:
    """Median ms of one `g.click` (spec check on), `clicks` different members clicking Claim."""
    with tempfile.TemporaryDirectory() as folder:
        users = {f"fan{i}": ["member"] for i in range(members)}
        async with Harness.start(config=bench_drops.bench_config(clicks + 10), db_path=Path(folder) / "k.db",
                                 users=users) as g:
            _, post = await drop_post(g)
            await g.click("Claim", on=post, user="fan1")  # warm: first validator, first parse
            times = []
            for i in range(2, clicks + 2):
                t0 = time.perf_counter()
                r = await g.click("Claim", on=post, user=f"fan{i}")
                times.append((time.perf_counter() - t0) * 1000)
                assert "is yours" in r.content, r.content
    return statistics.median(times)


# --- 0. how fast discord.py's gateway reader takes clicks in ---------------------------------------------
def gateway_frames(payloads: list[dict]) -> list[bytes]:
    """Each INTERACTION_CREATE as Discord sends it to discord.py (`compress=zlib-stream`): one JSON
    dispatch frame, deflated on ONE stream shared by the whole connection, each ending in Z_SYNC_FLUSH.
    The harness's short tokens are swapped for random ones as long as Discord's (they do not compress)."""
    stream = zlib.compressobj()
    frames = []
    for seq, data in enumerate(payloads, 1):
        data = data | {"token": secrets.token_urlsafe(160)}
        text = json.dumps({"t": "INTERACTION_CREATE", "s": seq, "op": 0, "d": data}, separators=(",", ":"))
        frames.append(stream.compress(text.encode()) + stream.flush(zlib.Z_SYNC_FLUSH))
    return frames


def serve_frames(path: str) -> None:
    """The child process: a websocket server on loopback that sends every frame of `path` (a pickled
    list of bytes) to each connection as binary messages, as fast as it can, then waits for the close."""
    with open(path, "rb") as f:
        frames = pickle.load(f)

    async def gateway(request):
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        for frame in frames:
            await ws.send_bytes(frame)
        await ws.receive()
        return ws

    async def serve():
        site_app = web.Application()
        site_app.router.add_get("/", gateway)
        runner = web.AppRunner(site_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(site._server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent is done

    asyncio.run(serve())


async def claim_payloads(g, post, members: int, clicks: int) -> list[dict]:
    """`clicks` INTERACTION_CREATE payloads, built by the harness: Claim clicks from `members` members."""
    button = next(c for c in post.walk_components() if c.get("type") == CT.button.value)
    data = {"custom_id": button["custom_id"], "component_type": CT.button.value}
    ids = [g.user_id(f"fan{i}") for i in range(members)]
    claimers = [ids[u - bench_drops.FIRST_MEMBER] for u in bench_drops.burst(clicks, members)]
    return [g._interaction(IT.component, uid, post.channel, data, message=post, name="button Claim")[0]
            for uid in claimers]


async def gateway_intake(members: int, clicks: int) -> tuple[float, float, int]:
    """(frames/s, s, bytes per frame): `clicks` claim-click frames read through discord.py's own gateway
    path -- a real aiohttp websocket on loopback, `DiscordWebSocket.poll_event` (receive with its heartbeat
    timeout, zlib-stream inflate, JSON, the `socket_event_type` dispatch, the parser lookup) -- with the
    INTERACTION_CREATE parser a no-op, so the figure is the gateway's ceiling, before any bot work."""
    with tempfile.TemporaryDirectory() as folder:
        users = {f"fan{i}": ["member"] for i in range(members)}
        async with Harness.start(config=bench_drops.bench_config(clicks), db_path=Path(folder) / "k.db",
                                 users=users) as g:
            _, post = await drop_post(g)
            frames = gateway_frames(await claim_payloads(g, post, members, clicks))
            path = Path(folder) / "frames.pickle"
            path.write_bytes(pickle.dumps(frames))
            server = subprocess.Popen([sys.executable, __file__, "--serve-frames", str(path)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                port = int(server.stdout.readline())
                taken = [0]
                perf = time.perf_counter
                marks = [0.0, 0.0]

                def parse(data):  # the bot's INTERACTION_CREATE parser would start here
                    taken[0] += 1
                    if taken[0] == 1:
                        marks[0] = perf()
                    marks[1] = perf()

                async with aiohttp.ClientSession() as session:
                    socket = await session.ws_connect(f"http://127.0.0.1:{port}/", max_msg_size=0,
                                                      autoclose=False, compress=0)
                    ws = DiscordWebSocket(socket, loop=asyncio.get_running_loop())
                    ws._connection = g.bot._connection
                    ws._discord_parsers = {"INTERACTION_CREATE": parse}
                    ws._dispatch = g.bot.dispatch
                    ws.shard_id = None
                    ws._max_heartbeat_timeout = g.bot._connection.heartbeat_timeout
                    await asyncio.sleep(0.5)  # let the server get ahead: the figure is the reader's, not the sender's
                    while taken[0] < clicks:
                        await ws.poll_event()
                    await socket.close()
            finally:
                server.stdin.close()
                server.wait(10)
    seconds = marks[1] - marks[0]
    return (clicks - 1) / seconds, seconds, sum(map(len, frames[1:])) // (clicks - 1)


# --- 2. 20,000 simultaneous clicks --------------------------------------------------------------------------
async def simultaneous(members: int, clicks: int, stock: int) -> tuple[float, float, float, dict]:
    """(last reply s, clicks/s, p99 ms, stock check) for `clicks` Claim clicks delivered at once."""
    with tempfile.TemporaryDirectory() as folder:
        users = {f"fan{i}": ["member"] for i in range(members)}
        async with Harness.start(config=bench_drops.bench_config(stock), db_path=Path(folder) / "k.db",
                                 users=users) as g:
            run_id, post = await drop_post(g)
            button = next(c for c in post.walk_components() if c.get("type") == CT.button.value)
            data = {"custom_id": button["custom_id"], "component_type": CT.button.value}
            ids = [g.user_id(f"fan{i}") for i in range(members)]
            claimers = [ids[u - bench_drops.FIRST_MEMBER] for u in bench_drops.burst(clicks, members)]
            channel = post.channel
            payloads = [g._interaction(IT.component, uid, channel, data, message=post, name="button Claim")[0]
                        for uid in claimers]
            g.fake.spec = Spec(None)  # the spec check is the harness's cost, not the bot's
            answered: dict[str, float] = {}
            done = asyncio.get_running_loop().create_future()
            handle = g.fake.handle
            perf = time.perf_counter

            fake_time = [0.0]  # CPU the offline Discord spends answering (not the bot's)

            async def timed(req):
                if req.path.endswith("/callback"):
                    answered[req.url] = perf()
                    if len(answered) == clicks and not done.done():
                        done.set_result(None)
                t0 = perf()
                try:
                    return await handle(req)
                finally:
                    fake_time[0] += perf() - t0

            g.fake.handle = timed
            settle_heap()
            parse = g.bot._connection.parsers["INTERACTION_CREATE"]
            with g.unwatched():
                start = perf()
                for p in payloads:
                    parse(p)
                await asyncio.wait_for(done, 120)
            g.fake.handle = handle
            await g.settle()
            check = await bench_drops.invariant(g.app, run_id)
            times = sorted(t - start for t in answered.values())
    last = times[-1]
    return last, clicks / last, bench_drops.pct(times, 99) * 1000, check, fake_time[0]


# --- 3. the 200,000-claim burst --------------------------------------------------------------------------
async def big_burst(claims: int, members: int, stock: int, rate: float | None = None
                    ) -> tuple[float, float, float, dict]:
    """(s, p99 ms, claims/s, stock check). rate None: every claim's task created in one loop turn, latency
    from its task's first step; else claims arriving at `rate` a second, latency from each one's arrival."""
    with tempfile.TemporaryDirectory() as folder:
        app = await bench_drops.open_app(Path(folder) / "bench.db", stock)
        opened = await app.drops.open(bench_drops.GUILD, "bench", by=1)
        users = bench_drops.burst(claims, members)
        settle_heap()
        elapsed, latencies, outcomes = await bench_drops.fire(app, opened.run_id, users, rate=rate)
        check = await bench_drops.invariant(app, opened.run_id)
        await app.close()
    return elapsed, bench_drops.pct(latencies, 99) * 1000, claims / elapsed, check


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("gateway", "harness", "clicks", "burst"))
    parser.add_argument("--clicks", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--stock", type=int, default=5_000)
    parser.add_argument("--burst-claims", type=int, default=200_000)
    parser.add_argument("--burst-members", type=int, default=100_000)
    parser.add_argument("--burst-stock", type=int, default=50_000)
    parser.add_argument("--gateway-rate", type=float, help="frames/s to pace part 3 at (default: measure it)")
    parser.add_argument("--harness-members", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--harness-clicks", type=int, default=30)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--serve-frames", help=argparse.SUPPRESS)  # the child process of part 0
    args = parser.parse_args()
    if args.serve_frames:
        serve_frames(args.serve_frames)
        return 0
    tune_process()
    print(f"machine: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
          f" · loop: {bench_drops.loop_in_use(args.loop)}")
    ok = True
    ceiling = args.gateway_rate
    if args.only in (None, "gateway") or (args.only == "burst" and ceiling is None):
        results = [bench_drops.run_on(args.loop, gateway_intake(args.members, args.clicks)) for _ in range(args.runs)]
        rates = [r[0] for r in results]
        ceiling = statistics.median(rates)
        print(f"gateway intake: {args.clicks:,} claim-click INTERACTION_CREATE frames (zlib-stream, ~{results[0][2]:,}"
              f" bytes each on the wire) through discord.py's DiscordWebSocket.poll_event on a loopback websocket,"
              f" the parser a no-op:")
        print(f"  frames/s: {spread(rates)} · s for all: {spread([r[1] for r in results])}"
              f" · the most clicks a second one gateway connection hands the bot here")
        gc.collect()
    if args.only in (None, "harness"):
        for members in args.harness_members:
            medians = [bench_drops.run_on(args.loop, harness_click(members, args.harness_clicks))
                       for _ in range(args.runs)]
            fast = members < 10_000 or max(medians) < 2
            print(f"g.click at {members:,} members (spec check on), median ms per click over {args.runs} runs:"
                  f" {spread(medians)} · {'OK' if fast else 'BELOW TARGET'} (target < 2 ms at 10,000)")
            gc.collect()
    if args.only in (None, "clicks"):
        results = [bench_drops.run_on(args.loop, simultaneous(args.members, args.clicks, args.stock))
                   for _ in range(args.runs)]
        lasts = [r[0] for r in results]
        rates = [r[1] for r in results]
        p99s = [r[2] for r in results]
        fakes = [r[4] for r in results]
        exact = all(r[3]["held"] == args.stock and r[3]["duplicates"] == 0 for r in results)
        fast = max(lasts) < 1.5 and min(rates) >= 15_000
        print(f"{args.clicks:,} simultaneous Claim clicks, {args.members:,} members, stock {args.stock:,}"
              f" (gateway payload -> reply request, spec check off):")
        print(f"  last reply s: {spread(lasts)} · clicks/s: {spread(rates)} · p99 ms: {spread(p99s)}")
        print(f"  of which the offline Discord answering the {args.clicks:,} reply requests (harness, not bot) s:"
              f" {spread(fakes)} · so the bot's own clicks/s (clicks / (last reply - that)):"
              f" {spread([args.clicks / (last - fake) for last, fake in zip(lasts, fakes)])}")
        print(f"  stock {'exact' if exact else 'NOT EXACT'} · speed {'OK' if fast else 'BELOW TARGET'}"
              f" (targets: last reply < 1.5 s, >= 15,000 clicks/s)")
        ok = ok and exact
        gc.collect()
    if args.only in (None, "burst"):
        print(f"{args.burst_claims:,}-claim burst, {args.burst_members:,} members, stock {args.burst_stock:,}"
              f" (drops service; target p99 < 600 ms, exact stock):")
        shapes = [(None, "all created in ONE loop turn, latency from each task's first step (below the asyncio"
                         " floor: the first steps of all the tasks run before any answer)")]
        shapes += [(ceiling * k, f"arriving at {label} ({ceiling * k:,.0f} claims/s), latency from each claim's"
                                 " arrival") for k, label in ((1, "the gateway ceiling"), (2, "2x the gateway ceiling"))]
        for rate, label in shapes:
            results = [bench_drops.run_on(args.loop, big_burst(args.burst_claims, args.burst_members,
                                                               args.burst_stock, rate)) for _ in range(args.runs)]
            p99s = [r[1] for r in results]
            rates = [r[2] for r in results]
            exact = all(r[3]["held"] == args.burst_stock and r[3]["duplicates"] == 0
                        and r[3]["remaining"] + r[3]["held"] == r[3]["stock"] for r in results)
            print(f"  {label}:")
            print(f"    p99 ms: {spread(p99s)} · claims/s: {spread(rates)} · stock {'exact' if exact else 'NOT EXACT'}"
                  f" · {'OK' if max(p99s) < 600 else 'BELOW TARGET'}")
            ok = ok and exact
            gc.collect()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
