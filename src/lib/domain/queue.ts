/** One message as a queue delivers it to a worker, before its body is read. */
export interface QueuedMessage {
  /** The queue's id of the message (what a partial-batch answer names). */
  id: string;
  body: string;
  /** The handle that changes this delivery's visibility. */
  receiptHandle: string;
  /** How many times the queue has delivered it, this time included (1 on the first). */
  receiveCount: number;
}
