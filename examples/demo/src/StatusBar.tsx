import { useRealtime } from '@tanstack/react-realtime'

export function StatusBar() {
  const { status } = useRealtime()
  return (
    <span className="status" data-status={status} data-testid="status">
      {status}
    </span>
  )
}
