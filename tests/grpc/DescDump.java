import com.google.protobuf.DescriptorProtos.*;
import java.nio.file.*;
import java.util.*;

/** Prints the names, numbers and types of descriptors, one line each, sorted. */
public class DescDump {
  static void msg(String prefix, DescriptorProto m, List<String> out) {
    String name = prefix + "." + m.getName();
    out.add("message " + name);
    for (FieldDescriptorProto f : m.getFieldList()) {
      out.add("field " + name + "." + f.getName() + " = " + f.getNumber() + " " + f.getLabel() + " " + f.getType()
          + " " + f.getTypeName() + (f.hasOneofIndex() && !f.getProto3Optional() ? " oneof=" + m.getOneofDecl(f.getOneofIndex()).getName() : "")
          + (f.getProto3Optional() ? " optional" : ""));
    }
    for (DescriptorProto n : m.getNestedTypeList()) msg(name, n, out);
    for (EnumDescriptorProto e : m.getEnumTypeList()) en(name, e, out);
  }
  static void en(String prefix, EnumDescriptorProto e, List<String> out) {
    for (EnumValueDescriptorProto v : e.getValueList()) out.add("enum " + prefix + "." + e.getName() + "." + v.getName() + " = " + v.getNumber());
  }
  static void file(FileDescriptorProto f, List<String> out) {
    String p = "." + f.getPackage();
    for (DescriptorProto m : f.getMessageTypeList()) msg(p, m, out);
    for (EnumDescriptorProto e : f.getEnumTypeList()) en(p, e, out);
    for (ServiceDescriptorProto s : f.getServiceList())
      for (MethodDescriptorProto m : s.getMethodList())
        out.add("rpc " + p + "." + s.getName() + "." + m.getName() + "(" + (m.getClientStreaming() ? "stream " : "") + m.getInputType() + ") -> " + (m.getServerStreaming() ? "stream " : "") + m.getOutputType());
  }
  public static void main(String[] a) throws Exception {
    List<String> out = new ArrayList<>();
    if (a[0].equals("jar")) {
      for (String c : new String[] {"apache.rocketmq.v2.MQDomain", "apache.rocketmq.v2.MQService", "apache.rocketmq.v2.MQAdmin"}) {
        com.google.protobuf.Descriptors.FileDescriptor fd = (com.google.protobuf.Descriptors.FileDescriptor) Class.forName(c).getMethod("getDescriptor").invoke(null);
        file(fd.toProto(), out);
      }
    } else {
      FileDescriptorSet set = FileDescriptorSet.parseFrom(Files.readAllBytes(Paths.get(a[0])));
      for (FileDescriptorProto f : set.getFileList()) if (f.getPackage().equals("apache.rocketmq.v2")) file(f, out);
    }
    Collections.sort(out);
    for (String s : out) System.out.println(s);
  }
}
