/** The gRPC flags (Triton's names, plus --grpc-max-message-bytes) and the channel options they become. */
import { parseCli } from '../../server/cli';
import { DEFAULT_GRPC_MAX_MESSAGE_BYTES, grpcServerChannelOptions } from '../../server/protocol/grpc/server';

const base = ['--model-repository=/models'];

describe('gRPC command-line flags', () => {
  it('defaults like Triton', () => {
    const cli = parseCli(base);
    expect(cli.grpcPort).toBe(8001);
    expect(cli.allowGrpc).toBe(true);
    expect(cli.grpcMaxMessageBytes).toBe(2147483647);
    expect(cli.grpcKeepalive).toEqual({
      keepaliveTimeMs: 7200000,
      keepaliveTimeoutMs: 20000,
      keepalivePermitWithoutCalls: false,
      http2MaxPingsWithoutData: 2,
      http2MinRecvPingIntervalWithoutDataMs: 300000,
      http2MaxPingStrikes: 2,
    });
    expect(cli.grpcResponseCompressionLevel).toBe('none');
  });

  it('parses every flag', () => {
    const cli = parseCli([
      ...base,
      '--grpc-port=9001',
      '--allow-grpc=false',
      '--grpc-max-message-bytes=1048576',
      '--grpc-keepalive-time=10000',
      '--grpc-keepalive-timeout=500',
      '--grpc-keepalive-permit-without-calls=true',
      '--grpc-http2-max-pings-without-data=0',
      '--grpc-http2-min-recv-ping-interval-without-data=5000',
      '--grpc-http2-max-ping-strikes=5',
      '--grpc-infer-response-compression-level=high',
      '--grpc-max-connection-age=60000',
      '--grpc-max-connection-age-grace=5000',
    ]);
    expect(cli).toMatchObject({ grpcPort: 9001, allowGrpc: false, grpcMaxMessageBytes: 1048576, grpcResponseCompressionLevel: 'high' });
    expect(cli.grpcKeepalive).toEqual({
      keepaliveTimeMs: 10000,
      keepaliveTimeoutMs: 500,
      keepalivePermitWithoutCalls: true,
      http2MaxPingsWithoutData: 0,
      http2MinRecvPingIntervalWithoutDataMs: 5000,
      http2MaxPingStrikes: 5,
      maxConnectionAgeMs: 60000,
      maxConnectionAgeGraceMs: 5000,
    });
    // Triton's spelling of the middle level; 'med' stays accepted.
    expect(parseCli([...base, '--grpc-infer-response-compression-level=MEDIUM']).grpcResponseCompressionLevel).toBe('medium');
  });

  it('rejects bad values', () => {
    expect(() => parseCli([...base, '--grpc-infer-response-compression-level=max'])).toThrow(
      'Bad option: "--grpc-infer-response-compression-level".\ninvalid argument for --grpc_infer_response_compression_level',
    );
    expect(() => parseCli([...base, '--grpc-max-message-bytes=0'])).toThrow(/--grpc-max-message-bytes/);
    expect(() => parseCli([...base, '--grpc-max-message-bytes=4294967296'])).toThrow(/--grpc-max-message-bytes/);
    expect(() => parseCli([...base, '--grpc-keepalive-permit-without-calls=maybe'])).toThrow('invalid value for bool option: maybe');
    expect(() => parseCli([...base, '--grpc-keepalive-time=soon'])).toThrow('Bad option: "--grpc-keepalive-time".\nInvalid option value. Got soon');
  });

  it('become grpc-js channel options', () => {
    const options = grpcServerChannelOptions({ maxMessageBytes: 1000, keepalive: { keepaliveTimeMs: 42, keepalivePermitWithoutCalls: true } });
    expect(options).toMatchObject({
      'grpc.max_receive_message_length': 1000,
      'grpc.max_send_message_length': 1000,
      'grpc.keepalive_time_ms': 42,
      'grpc.keepalive_timeout_ms': 20000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.enable_channelz': 0,
    });
    expect(grpcServerChannelOptions({})['grpc.max_receive_message_length']).toBe(DEFAULT_GRPC_MAX_MESSAGE_BYTES);
    expect(grpcServerChannelOptions({})).not.toHaveProperty('grpc.max_connection_age_ms');
    expect(grpcServerChannelOptions({ keepalive: { maxConnectionAgeMs: 1000, maxConnectionAgeGraceMs: 10 } })).toMatchObject({
      'grpc.max_connection_age_ms': 1000,
      'grpc.max_connection_age_grace_ms': 10,
    });
  });
});
