package io.tasnetty.samples.grpc;

import com.google.protobuf.StringValue;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.util.Iterator;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A greeter service described by hand, without protoc: the method descriptors name the service
 * and method and marshal protobuf's precompiled {@link StringValue} (grpc-protobuf's marshaller),
 * so any gRPC client that speaks {@code helloworld.Greeter/SayHello} with a {@code StringValue}
 * payload can call it. Generated stubs would do exactly this underneath.
 *
 * <pre>
 * service Greeter {                                   // package helloworld
 *   rpc SayHello (google.protobuf.StringValue) returns (google.protobuf.StringValue);
 *   rpc SayHelloStream (google.protobuf.StringValue) returns (stream google.protobuf.StringValue);
 * }
 * </pre>
 * {@code SayHelloStream} takes {@code "name"} or {@code "name*count"} and streams {@code count} greetings.
 */
public final class Greeter {
    public static final String SERVICE = "helloworld.Greeter";

    public static final MethodDescriptor<StringValue, StringValue> SAY_HELLO =
        MethodDescriptor.<StringValue, StringValue>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "SayHello"))
            .setRequestMarshaller(ProtoUtils.marshaller(StringValue.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(StringValue.getDefaultInstance()))
            .setIdempotent(true)
            .build();

    public static final MethodDescriptor<StringValue, StringValue> SAY_HELLO_STREAM =
        MethodDescriptor.<StringValue, StringValue>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "SayHelloStream"))
            .setRequestMarshaller(ProtoUtils.marshaller(StringValue.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(StringValue.getDefaultInstance()))
            .build();

    private Greeter() {
    }

    /** The server side: {@code "Hello, NAME"} from {@code who} (e.g. the transport's name). */
    public static ServerServiceDefinition service(String who, AtomicLong calls) {
        return ServerServiceDefinition.builder(SERVICE)
            .addMethod(SAY_HELLO, ServerCalls.asyncUnaryCall((StringValue req, StreamObserver<StringValue> out) -> {
                calls.incrementAndGet();
                out.onNext(StringValue.of("Hello, " + req.getValue() + " (from gRPC on " + who + ")"));
                out.onCompleted();
            }))
            .addMethod(SAY_HELLO_STREAM,
                ServerCalls.asyncServerStreamingCall((StringValue req, StreamObserver<StringValue> out) -> {
                    calls.incrementAndGet();
                    String v = req.getValue();
                    int star = v.lastIndexOf('*');
                    int count = 3;
                    String name = v;
                    if (star > 0) {
                        try {
                            count = Integer.parseInt(v.substring(star + 1));
                            name = v.substring(0, star);
                        } catch (NumberFormatException e) {
                            // a name with a star in it
                        }
                    }
                    for (int i = 1; i <= count; i++) {
                        out.onNext(StringValue.of("Hello #" + i + ", " + name));
                    }
                    out.onCompleted();
                }))
            .build();
    }

    /** Client side: one unary call. */
    public static String sayHello(Channel channel, String name) {
        return ClientCalls.blockingUnaryCall(channel, SAY_HELLO, CallOptions.DEFAULT, StringValue.of(name)).getValue();
    }

    /** Client side: a server-streaming call. */
    public static Iterator<StringValue> sayHelloStream(Channel channel, String name, int count) {
        return ClientCalls.blockingServerStreamingCall(channel, SAY_HELLO_STREAM, CallOptions.DEFAULT,
            StringValue.of(name + "*" + count));
    }
}
