// A screen that throws while drawing shows the error instead of taking the
// console down with it: the engineer keeps the header, Esc and q.

import { Text, useInput } from 'ink';
import { Component, type ReactNode } from 'react';

export interface ErrorBoundaryProps {
  /** A new key (another screen) clears the error. */
  resetKey: string;
  /** The broken screen's own keys are gone, so the fallback listens for these. */
  onBack(): void;
  onQuit(): void;
  isActive: boolean;
  children: ReactNode;
}

interface ErrorBoundaryState {
  error: Error | null;
  key: string;
}

export class ErrorBoundary extends Component<ErrorBoundaryProps, ErrorBoundaryState> {
  override state: ErrorBoundaryState = { error: null, key: this.props.resetKey };

  static getDerivedStateFromError(error: unknown): Partial<ErrorBoundaryState> {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  static getDerivedStateFromProps(props: ErrorBoundaryProps, state: ErrorBoundaryState): Partial<ErrorBoundaryState> | null {
    return props.resetKey !== state.key ? { error: null, key: props.resetKey } : null;
  }

  override render() {
    if (this.state.error) {
      return (
        <ErrorFallback
          message={this.state.error.message}
          onBack={this.props.onBack}
          onQuit={this.props.onQuit}
          isActive={this.props.isActive}
        />
      );
    }
    return this.props.children;
  }
}

interface ErrorFallbackProps {
  message: string;
  onBack(): void;
  onQuit(): void;
  isActive: boolean;
}

function ErrorFallback({ message, onBack, onQuit, isActive }: ErrorFallbackProps) {
  useInput(
    (input, key) => {
      if (key.escape) onBack();
      else if (input === 'q') onQuit();
    },
    { isActive },
  );
  return (
    <Text color="red" wrap="wrap">
      {`✗ this screen failed to draw: ${message}\n  esc goes back, q quits.`}
    </Text>
  );
}
