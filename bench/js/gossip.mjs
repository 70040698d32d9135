// The js-libp2p side of circle's gossip benchmark: N nodes in this process on loopback
// (TCP + Noise + Yamux + @chainsafe/libp2p-gossipsub, flood publish, content-hash ids, no
// signatures: the settings of circle's gossip), connected along the edges given, node 0
// publishing 1 KiB messages. The same scenario as bench/src/collect.rs: `warmup` unmeasured
// messages, `count` measured one at a time (each waits until every node has it), then a
// burst of `burst` back to back. Prints one JSON line for the Rust harness:
//   {"latencies_ms":[...],"lost":0,"throughput":1234.5,"burst_missing":0}
//
//   node gossip.mjs --n 8 --warmup 5 --count 200 --burst 1000 --gap-ms 10 --edges 0-1,0-2,...

import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'

// Node 20 lacks Promise.withResolvers (Node 22 has it), which a dependency of libp2p 2
// (it-queue, through mortice) calls at run time: the standard behaviour, for Node 20.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const TOPIC = 'circle-bench'
const MESSAGE_BYTES = 1024

function args () {
  const a = { n: 3, warmup: 3, count: 20, burst: 100, 'gap-ms': 10, 'heartbeat-ms': 100, 'patience-ms': 60000, edges: '' }
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    if (!(key in a)) throw new Error(`unknown option --${key}`)
    a[key] = key === 'edges' ? argv[i + 1] : Number(argv[i + 1])
  }
  a.edges = a.edges
    ? a.edges.split(',').map(e => e.split('-').map(Number))
    : fullMesh(a.n)
  return a
}

function fullMesh (n) {
  const edges = []
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) edges.push([i, j])
  return edges
}

function payload (k) {
  const data = new Uint8Array(MESSAGE_BYTES).fill(46)
  new DataView(data.buffer).setBigUint64(0, BigInt(k))
  return data
}

async function startNode (heartbeatMs) {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // js-libp2p refuses more than 5 inbound connections a second from one host by default:
    // every node here is on 127.0.0.1.
    connectionManager: {
      inboundConnectionThreshold: 100000,
      maxIncomingPendingConnections: 1000,
      maxConnections: 1000
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        emitSelf: false,
        floodPublish: true,
        heartbeatInterval: heartbeatMs,
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: msg => createHash('blake2b512').update(msg.data).digest().subarray(0, 32),
        allowPublishToZeroTopicPeers: true
      })
    }
  })
}

async function waitFor (what, check, ms) {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(5)
  }
}

async function main () {
  const a = args()
  const nodes = []
  for (let i = 0; i < a.n; i++) nodes.push(await startNode(a['heartbeat-ms']))
  // arrivals.get(k) = times (ms) at which receivers got message k
  const arrivals = new Map()
  nodes.forEach((node, i) => {
    node.services.pubsub.subscribe(TOPIC)
    if (i === 0) return
    node.services.pubsub.addEventListener('message', evt => {
      const now = performance.now()
      const data = evt.detail.data
      const k = Number(new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0))
      if (!arrivals.has(k)) arrivals.set(k, [])
      arrivals.get(k).push(now)
    })
  })
  const degree = new Array(a.n).fill(0)
  for (const [x, y] of a.edges) {
    await nodes[x].dial(nodes[y].getMultiaddrs()[0])
    degree[x]++
    degree[y]++
  }
  const known = () => nodes.map(node => node.services.pubsub.getSubscribers(TOPIC).length)
  try {
    await waitFor('every node knows its neighbours\' subscriptions', () =>
      known().every((k, i) => k >= degree[i]), 20000)
  } catch {
    const k = known()
    const worst = k.reduce((w, n, i) => (n - degree[i] < k[w] - degree[w] ? i : w), 0)
    throw new Error(`after 20 s, js-libp2p node ${worst} knew the subscriptions of ${k[worst]} of its ${degree[worst]} connected peers`)
  }

  const receivers = a.n - 1
  const publisher = nodes[0].services.pubsub
  const latencies = []
  let lost = 0
  const total = a.warmup + a.count
  for (let k = 0; k < total; k++) {
    const start = performance.now()
    await publisher.publish(TOPIC, payload(k))
    try {
      await waitFor(`message ${k} arrives`, () => (arrivals.get(k) || []).length >= receivers, a['patience-ms'])
      if (k >= a.warmup) for (const t of arrivals.get(k)) latencies.push(t - start)
    } catch {
      lost++
    }
    await sleep(a['gap-ms'])
  }

  let throughput = null
  let burstMissing = 0
  if (a.burst > 0) {
    const first = total
    const start = performance.now()
    for (let k = first; k < first + a.burst; k++) await publisher.publish(TOPIC, payload(k))
    const got = () => {
      let n = 0
      for (let k = first; k < first + a.burst; k++) n += (arrivals.get(k) || []).length
      return n
    }
    try {
      await waitFor('the burst arrives', () => got() >= a.burst * receivers, a['patience-ms'] * 4)
      let last = 0
      for (let k = first; k < first + a.burst; k++) for (const t of arrivals.get(k)) last = Math.max(last, t)
      throughput = a.burst / ((last - start) / 1000)
    } catch {
      burstMissing = a.burst * receivers - got()
    }
  }
  console.log(JSON.stringify({ latencies_ms: latencies, lost, throughput, burst_missing: burstMissing }))
  await Promise.all(nodes.map(n => n.stop()))
}

main().then(() => process.exit(0), err => {
  console.error(err?.stack ?? String(err))
  process.exit(1)
})
