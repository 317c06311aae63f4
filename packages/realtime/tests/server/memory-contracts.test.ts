import { MemoryChannelStore } from '@tanstack/realtime/server'
import { channelLogContract } from './contracts/channel-log.contract.js'
import { driveMembers, memberStoreContract } from './contracts/member-store.contract.js'

// The ports' contracts against the memory store (the Node server's default).

const inMemoryOnly = () => Promise.reject(new Error('A memory store does not outlive its instance.'))

channelLogContract(
  'memory',
  async ({ ch, historySize }) => {
    const store = new MemoryChannelStore({ historySize })
    const { log } = store.open(ch)
    return {
      position: async () => log.position(),
      async append(dataJson, idem) {
        const { seq, epoch, frame } = log.append(dataJson, idem)
        return { seq, epoch, frame: frame?.text }
      },
      async read(after, limit) {
        const { position, messages } = log.read(after, limit)
        return { position, messages: messages.map(({ seq, frame }) => ({ seq, frame: frame.text })) }
      },
      find: async (idem) => log.find(idem),
      reopen: inMemoryOnly,
      dispose: async () => store.close(),
    }
  },
  { persistent: false },
)

memberStoreContract(
  'memory',
  async () => {
    const store = new MemoryChannelStore()
    return driveMembers(store.open('["room"]').members, { reopen: inMemoryOnly, dispose: async () => store.close() })
  },
  { persistent: false },
)
