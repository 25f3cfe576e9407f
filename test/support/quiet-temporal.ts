// Test forks run real Temporal workers; many suites provoke failing activities on purpose, and the SDK's
// default logger would print a warning for each. Errors still show.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('ERROR') });
