// A stranger's node of another libp2p implementation (js-libp2p, TCP + Noise + Yamux,
// identify, @chainsafe/libp2p-gossipsub), for tests/door.rs: it connects to a circle node while
// an invite of that node is live (the door is open, for join requests only), subscribes to the
// circle's topic, asks for the node's protocol list (identify), tries to open the sync
// protocol and publishes, then listens until the node closes the connection. Prints one JSON
// line with what it learned:
//   {"connected":true,"stayed_ms":10012,"topics":[],"protocols":[],"identify":"refused",
//    "sync":"refused","published_to":0}
//
//   node stranger.mjs --addr /ip4/127.0.0.1/tcp/PORT/p2p/PEER --topic TOPIC [--patience-ms 30000]

import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLibp2p } from 'libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'

// Node 20 lacks Promise.withResolvers (see gossip.mjs).
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const SYNC_PROTOCOL = '/circle/sync/4'

function args () {
  const a = { addr: '', topic: '', 'patience-ms': 30000 }
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    if (!(key in a)) throw new Error(`unknown option --${key}`)
    a[key] = key === 'patience-ms' ? Number(argv[i + 1]) : argv[i + 1]
  }
  if (!a.addr || !a.topic) throw new Error('--addr and --topic are needed')
  return a
}

async function main () {
  const a = args()
  const node = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        emitSelf: false,
        floodPublish: true,
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: msg => createHash('blake2b512').update(msg.data).digest().subarray(0, 32),
        allowPublishToZeroTopicPeers: true
      })
    }
  })
  const seen = {
    connected: false,
    stayed_ms: null,
    topics: [],
    protocols: [],
    identify: 'not tried',
    sync: 'not tried',
    published_to: 0
  }
  const pubsub = node.services.pubsub
  pubsub.subscribe(a.topic)
  const publish = async () => {
    try {
      const sent = await pubsub.publish(a.topic, new TextEncoder().encode('from a stranger'))
      seen.published_to += sent.recipients.length
    } catch {}
  }
  pubsub.addEventListener('subscription-change', evt => {
    for (const s of evt.detail.subscriptions) {
      if (s.subscribe && !seen.topics.includes(s.topic)) seen.topics.push(s.topic)
    }
    publish()
  })
  node.addEventListener('peer:identify', evt => {
    seen.protocols = evt.detail.protocols ?? []
  })

  const target = multiaddr(a.addr)
  let opened = null
  let closed = false
  node.addEventListener('connection:close', () => {
    if (opened !== null && !closed) {
      closed = true
      seen.stayed_ms = Math.round(performance.now() - opened)
    }
  })
  let connection
  try {
    connection = await node.dial(target)
    opened = performance.now()
    seen.connected = true
  } catch (e) {
    seen.stayed_ms = 0
    console.log(JSON.stringify(seen))
    await node.stop()
    return
  }

  try {
    const info = await node.services.identify.identify(connection)
    seen.identify = 'answered'
    seen.protocols = info.protocols ?? seen.protocols
  } catch {
    seen.identify = 'refused'
  }
  try {
    const stream = await connection.newStream(SYNC_PROTOCOL)
    seen.sync = 'opened'
    await stream.close()
  } catch {
    seen.sync = 'refused'
  }
  await publish()

  const deadline = performance.now() + a['patience-ms']
  while (!closed && performance.now() < deadline) await sleep(20)
  console.log(JSON.stringify(seen))
  await node.stop()
}

main().then(() => process.exit(0), err => {
  console.error(err?.stack ?? String(err))
  process.exit(1)
})
