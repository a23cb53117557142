#!/usr/bin/env node
// The CLI runs from its TypeScript source through tsx, installed with the project.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
