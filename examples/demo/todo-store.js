// @ts-check
// The demo's todos: a JSON file the server owns. A JSON file needs no native module and no setup,
// and a demo's few hundred rows fit in memory; each change rewrites the file atomically (temp file
// + rename), one write at a time.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * @typedef {{ id: string, title: string, done: boolean, createdBy: string, createdAt: number }} Todo
 * @typedef {import('@tanstack/realtime').WriteOp} WriteOp
 * @typedef {import('@tanstack/realtime').CollectionChange<Todo>} Change
 */

/** @param {string} file */
export async function openTodoStore(file) {
  /** @type {Map<string, Todo>} */
  const rows = new Map()
  try {
    for (const todo of JSON.parse(await readFile(file, 'utf8'))) rows.set(todo.id, todo)
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'ENOENT') throw error
  }
  let saving = Promise.resolve()
  const save = () => {
    const text = JSON.stringify([...rows.values()], null, 2)
    saving = saving.then(async () => {
      await mkdir(dirname(file), { recursive: true })
      await writeFile(`${file}.tmp`, text)
      await rename(`${file}.tmp`, file)
    })
    return saving
  }
  return {
    all: () => [...rows.values()].sort((a, b) => a.createdAt - b.createdAt),
    /**
     * Applies client writes and returns the changes to broadcast (with server-set fields).
     * @param {WriteOp[]} ops
     * @param {string} user
     * @returns {Promise<Change[]>}
     */
    async apply(ops, user) {
      /** @type {Change[]} */
      const changes = []
      for (const op of ops) {
        const id = String(op.key)
        if (op.type === 'delete') {
          rows.delete(id)
          changes.push({ type: 'delete', key: id })
          continue
        }
        const value = /** @type {{ title: string, done: boolean }} */ (/** @type {unknown} */ (op.value))
        const previous = rows.get(id)
        /** @type {Todo} */
        const todo = {
          id,
          title: value.title.trim(),
          done: value.done,
          createdBy: previous?.createdBy ?? user,
          createdAt: previous?.createdAt ?? Date.now(),
        }
        rows.set(id, todo)
        changes.push({ type: previous ? 'update' : 'insert', value: todo })
      }
      await save()
      return changes
    },
    flush: () => saving,
  }
}
